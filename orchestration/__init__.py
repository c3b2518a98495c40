"""The Dagster code location: one asset graph from dlt ingestion to dbt gold."""
