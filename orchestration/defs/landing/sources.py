"""The declared landing sources: for each sending system, its tables' contracts.

A file ``<root>/<source>/<ingest_date>/<table>[-<part>].<ext>`` lands in ``raw.<source>_<table>``
when ``<table>`` is declared here; anything else goes to ``raw.quarantine`` with the reason.
Declaring a table adds its asset ``raw/<source>_<table>`` to the graph.
"""

from __future__ import annotations

import pyarrow as pa

from ingestion.landing import TableContract

LANDING_SOURCES: dict[str, dict[str, TableContract]] = {
    # Store master data sent by franchise partners as CSV.
    "partners": {
        "stores": TableContract(
            schema=pa.schema(
                [
                    pa.field("store_id", pa.int64(), nullable=False),
                    pa.field("store_name", pa.string(), nullable=False),
                    pa.field("city", pa.string()),
                    pa.field("opened_on", pa.date32()),
                ]
            ),
            primary_key=("store_id",),
        )
    },
}


def landed_tables(sources: dict[str, dict[str, TableContract]] = LANDING_SOURCES) -> list[str]:
    """The raw table of every declared landing table: ``<source>_<table>``."""
    return [f"{source}_{table}" for source, tables in sources.items() for table in tables]
