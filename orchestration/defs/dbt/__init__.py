"""dbt: bronze, silver and gold models of ``transformations/`` as Dagster assets."""
