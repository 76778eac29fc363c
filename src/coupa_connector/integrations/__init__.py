"""Other tools drive coupa-connector: a dlt source and a Singer tap and target.

Each integration is an optional extra (``coupa-connector[dlt]``, ``coupa-connector[singer]``)
and is imported from its own module, ``coupa_connector.integrations.dlt`` or
``coupa_connector.integrations.singer``. Both talk to Coupa through the library's public
``Connection`` (keyset paging, the rate limit, retries, the catalog): there is no second HTTP
stack here.
"""
