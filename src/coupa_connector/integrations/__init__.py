"""Other tools drive coupa-connector: a dlt source, a Singer tap and target, an Airflow provider.

Each integration is an optional extra (``coupa-connector[dlt]``, ``[singer]``, ``[airflow]``)
imported from its own module: ``coupa_connector.integrations.dlt``, ``.singer``, ``.airflow``.
All talk to Coupa through the library's public ``Connection`` (keyset paging, the rate limit,
retries, the catalog): there is no second HTTP stack here.
"""
