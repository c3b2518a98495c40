"""Landing: files dropped under ``<root>/<source>/<ingest_date>/`` into ``raw`` (dlt), validated."""
