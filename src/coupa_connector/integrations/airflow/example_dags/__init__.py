"""Example DAGs of the Coupa provider; copy one into your DAGs folder to start."""
