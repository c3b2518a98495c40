"""The run's publish step: every silver/gold table the run's dbt steps built and audited, published
together in one registry commit (write-audit-publish, ``lakehouse.publish``).

The dbt steps only build and test. This asset depends on every published model, so Dagster runs
it after the last dbt step of the run, and never when one of them failed (a failed blocking test
fails its step; Dagster then skips what lies downstream): a run whose gold step fails leaves
silver on the previous build as well. It publishes the tables whose latest materialization is
this run's, i.e. what this run built and audited and nothing since overwrote. A run in which a dbt
step built nothing (the incremental step found its dates built on the same inputs) skips it, as
Dagster skips a step whose upstream produced no output; nothing new was built to publish.

Its key is the registry table it commits to, ``publish/builds``. It follows its dependencies like
the marts (``FOLLOW_DEPENDENCIES``), so the automation sensor requests it in the same tick, and
the same run, as the marts it rebuilds.
"""

from collections.abc import Iterable, Iterator

import dagster as dg

from lakehouse.layers import PUBLISH_NAMESPACE, PUBLISHED_LAYERS
from orchestration.defs.dbt.assets import incremental_dbt_assets, lakehouse_dbt_assets
from orchestration.defs.dbt.project import dbt_project_manifest
from orchestration.defs.dbt.translator import FOLLOW_DEPENDENCIES
from orchestration.partitions import single_run_backfill
from orchestration.resources import LakehouseResource

PUBLISH_KEY = dg.AssetKey([PUBLISH_NAMESPACE, "builds"])


def published_model_keys() -> list[dg.AssetKey]:
    """The silver and gold models of both dbt steps: the tables a build publishes."""
    layers = {layer.value for layer in PUBLISHED_LAYERS}
    keys = {
        key
        for step in (incremental_dbt_assets, lakehouse_dbt_assets)
        for key in step.keys
        if key.path[0] in layers
    }
    return sorted(keys, key=lambda k: k.to_user_string())


def incremental_unique_keys(manifest: dict) -> dict[str, str]:
    """``<schema>.<model>`` -> unique key of every incremental model with a single-column key:
    the tables the publish step can publish from their smallest changed key on."""
    return {
        f"{node['schema']}.{node['name']}": node["config"]["unique_key"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["config"].get("materialized") == "incremental"
        and isinstance(node["config"].get("unique_key"), str)
    }


def built_by_run(
    instance: dg.DagsterInstance, keys: Iterable[dg.AssetKey], run_id: str
) -> list[dg.AssetKey]:
    """The keys whose latest materialization is ``run_id``'s.

    A table a later run rebuilt holds that run's rows (in the DuckDB file or the staging schema),
    which are that run's to publish, not this one's.
    """
    built = []
    for key in keys:
        records = instance.fetch_materializations(key, limit=1).records
        if records and records[0].run_id == run_id:
            built.append(key)
    return built


@dg.asset(
    key=PUBLISH_KEY,
    deps=published_model_keys(),
    group_name=PUBLISH_NAMESPACE,
    automation_condition=FOLLOW_DEPENDENCIES,
    backfill_policy=single_run_backfill,  # a backfill of a range is one run, one publish
    output_required=False,
    kinds={"iceberg"},
    owners=["team:data-engineering"],
    description="Publish the silver/gold tables this run built and audited, in one registry "
    "commit (write-audit-publish).",
)
def published_build(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource
) -> Iterator[dg.MaterializeResult]:
    from lakehouse.publish import publish_build  # DuckDB and pyiceberg: in a run, not at load

    keys = built_by_run(context.instance, published_model_keys(), context.run_id)
    published = publish_build(
        lakehouse.settings(),
        context.run_id,
        [k.path for k in keys],
        incremental_unique_keys(dbt_project_manifest()),
    )
    if published is None:
        context.log.info("This run built no silver or gold table: nothing to publish.")
        return
    yield dg.MaterializeResult(
        metadata={
            "build_id": published.build_id,
            "tag": published.tag,
            "tables": dg.MetadataValue.json(sorted(published.snapshots)),
            "table_count": len(published.snapshots),
        }
    )
