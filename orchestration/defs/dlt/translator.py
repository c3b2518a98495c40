"""Asset keys for dlt resources: ``raw/<source>_<table>``, the same keys as the dbt sources on
``raw``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from lakehouse.layers import Layer
from orchestration.defs.metadata import raw_table_attributes, source_table_key


@dataclass
class RawTranslator(DagsterDltTranslator):
    """dagster-dlt's default key is ``dlt_<source>_<resource>`` with a phantom upstream asset;
    keying tables by the namespace they land in (``source_table_key``: ``raw/shop_orders``)
    makes the dbt sources on ``raw`` their downstreams, so ingestion and transformation form one
    graph.

    dagster-dlt also names the table without its namespace and adds the destination
    (``filesystem``) as a kind; the raw tables are Iceberg tables ``raw.<table>``, described and
    owned as the dbt source ``raw`` says: ``source_docs`` (``raw_source_docs`` of the manifest),
    handed in by whoever builds the definitions. A run needs only the keys and passes none, so
    the translator itself never reads the dbt project.
    """

    source_docs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        table = data.resource.table_name
        docs = self.source_docs.get(table, {})
        attributes = raw_table_attributes(table)
        return spec.replace_attributes(
            key=source_table_key(data.resource.source_name, table),
            deps=[],
            group_name=Layer.RAW.value,
            kinds=attributes["kinds"],
            description=docs.get("description") or spec.description,
            owners=docs.get("owners") or spec.owners,
            metadata={**spec.metadata, **attributes["metadata"]},
        )
