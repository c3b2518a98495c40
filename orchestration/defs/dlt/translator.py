"""Asset keys for dlt resources: ``raw/<table>``, the same keys as the dbt sources on ``raw``."""

from __future__ import annotations

import dagster as dg
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from lakehouse.layers import Layer


class RawTranslator(DagsterDltTranslator):
    """dagster-dlt's default key is ``dlt_<source>_<resource>`` with a phantom upstream asset;
    keying tables by the namespace they land in makes the dbt sources on ``raw`` their
    downstreams, so ingestion and transformation form one graph."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        return spec.replace_attributes(
            key=dg.AssetKey([Layer.RAW.value, data.resource.table_name]),
            deps=[],
            group_name=Layer.RAW.value,
        ).merge_attributes(
            # The raw tables are Iceberg tables, whichever pipeline (or none, at load) is given.
            kinds={"iceberg"},
            metadata={"dagster/storage_kind": "iceberg"},
        )
