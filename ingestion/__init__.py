"""Ingestion: dlt sources and the pipeline that lands them as Iceberg tables in ``raw``."""
