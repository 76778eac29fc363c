"""Coupa invoices and suppliers into DuckDB with dlt, incrementally.

    pip install 'coupa-connector[dlt]'
    export COUPA_URL=... COUPA_CLIENT_ID=... COUPA_CLIENT_SECRET=...   # or .dlt/secrets.toml
    python examples/dlt_pipeline.py

Run it again: only invoices and suppliers changed since the last run are read and merged.
"""

import dlt

from coupa_connector.integrations.dlt import coupa_source

pipeline = dlt.pipeline(pipeline_name="coupa_to_duckdb", destination="duckdb", dataset_name="coupa")
source = coupa_source(
    objects={
        "invoices": {"where": "status=approved"},
        "suppliers": {"fields": ["name", "number", "status", "payment-term.code"]},
    },
    lag=300,  # re-read five minutes before the last high-water mark: late updates
)
print(pipeline.run(source, loader_file_format="jsonl"))
