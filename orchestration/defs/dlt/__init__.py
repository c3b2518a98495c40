"""dlt: the shop source landed as Iceberg tables in ``raw``, one asset per table."""
