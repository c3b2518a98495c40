"""When the incremental dbt step may skip: only on models a *successful* run built on the same
inputs. dagster-dbt records a model as soon as dbt built it, before its tests ran, so a run whose
audit or publish failed leaves records that must not count as built."""

import dagster as dg
import pyarrow as pa

from lakehouse.catalog import get_catalog
from lakehouse.maintenance.compact import compact
from lakehouse.maintenance.policy import MaintenancePolicy
from orchestration.defs.dbt.inputs import INPUTS_KEY, built_on, fingerprint

PARTITIONS = dg.StaticPartitionsDefinition(["2024-01-02"])
INPUTS = "raw snapshots and dbt checksums"


@dg.asset(partitions_def=PARTITIONS)
def model() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={INPUTS_KEY: INPUTS})


@dg.asset(deps=[model], partitions_def=PARTITIONS, config_schema={"fail": bool})
def audit_and_publish(context: dg.AssetExecutionContext) -> None:
    if context.op_config["fail"]:
        raise RuntimeError("an error-level test failed")


def build(instance: dg.DagsterInstance, fail: bool) -> bool:
    result = dg.materialize(
        [model, audit_and_publish],
        instance=instance,
        partition_key="2024-01-02",
        run_config={"ops": {"audit_and_publish": {"config": {"fail": fail}}}},
        raise_on_error=False,
    )
    return result.success


def test_a_model_built_by_a_failed_run_is_not_built() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        assert not build(instance, fail=True)
        assert not built_on(instance, [model.key], ["2024-01-02"], INPUTS)
        assert build(instance, fail=False)
        assert built_on(instance, [model.key], ["2024-01-02"], INPUTS)
        assert not built_on(instance, [model.key], ["2024-01-02"], "other inputs")


def test_compaction_leaves_the_inputs_unchanged_and_new_rows_change_them(lakehouse_env) -> None:
    """A night's compaction must not make the next day's incremental step rebuild everything;
    an append must still make it build."""
    catalog = get_catalog(lakehouse_env)
    catalog.create_namespace("raw")
    table = catalog.create_table("raw.events", schema=pa.schema([pa.field("id", pa.int64())]))
    policy = MaintenancePolicy()
    for day in range(policy.min_input_files):  # small files: compaction has work
        table.append(pa.table({"id": [day]}))
    manifest = {"nodes": {}, "macros": {}, "metadata": {}}
    before = fingerprint(catalog, manifest)

    assert compact(table, policy).partitions_rewritten == 1
    assert len(catalog.load_table("raw.events").snapshots()) > policy.min_input_files
    assert fingerprint(catalog, manifest) == before

    table.refresh().append(pa.table({"id": [99]}))
    after = fingerprint(catalog, manifest)
    assert after != before
    compact(table.refresh(), policy)
    assert fingerprint(catalog, manifest) == after
