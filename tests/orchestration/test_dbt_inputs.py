"""When the incremental dbt step may skip: only on models a *successful* run built on the same
inputs. dagster-dbt records a model as soon as dbt built it, before its tests ran, so a run whose
audit or publish failed leaves records that must not count as built."""

import dagster as dg

from orchestration.defs.dbt.inputs import INPUTS_KEY, built_on

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
