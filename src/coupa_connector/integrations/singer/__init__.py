"""A Singer tap (``tap-coupa``) and target (``target-coupa``) built on the Meltano Singer SDK.

Both use the library's ``Connection`` for every request (keyset paging, the rate limit,
retries) and the catalog for the streams and their JSON Schema: ``TapCoupa`` in ``tap``,
``TargetCoupa`` in ``target``. Install with ``pip install 'coupa-connector[singer]'``.
"""
