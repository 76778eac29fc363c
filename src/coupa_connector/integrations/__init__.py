"""Integrations: other tools drive coupa-connector through its public API (optional extras)."""
