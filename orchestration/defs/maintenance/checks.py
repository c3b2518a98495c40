"""Iceberg table health as warning-level asset checks: files, mean file size, snapshots, bytes.

One check per asset whose table may be an Iceberg table of the catalog (raw, and silver/gold
once they are published there). It runs in every build of its asset and records the figures as
metadata, so the UI plots them over time; it warns when a table holds too many small files or
snapshots (``lakehouse.maintenance.health``): the nightly maintenance is behind. An asset with
no Iceberg table in the catalog passes with nothing to measure.

It only reads: table metadata and, in the cluster, Polaris' applicable policies, which the code
location's own principal may read on every table it checks (raw and the published layers;
``lakehouse/platform/polaris/plan.py``). It runs with those credentials, not the maintainer's,
which commit to every namespace and are for the nightly job alone.
"""

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import dagster as dg

from lakehouse.catalog import get_catalog
from lakehouse.maintenance.catalog_policies import policy_source
from lakehouse.maintenance.policy import PolicyFor
from orchestration.defs.metadata import iceberg_identifier
from orchestration.resources import LakehouseResource

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

CHECK_NAME = "iceberg_table_health"


def health_result(
    catalog: "Catalog", key: dg.AssetKey, policy_for: PolicyFor
) -> dg.AssetCheckResult:
    """The check result of the Iceberg table the asset ``key`` writes (``iceberg_identifier``)."""
    # pyiceberg when the check runs, not when the code location loads
    from pyiceberg.exceptions import NoSuchTableError

    from lakehouse.maintenance.health import table_health

    identifier = iceberg_identifier(key)
    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        return dg.AssetCheckResult(
            asset_key=key,
            check_name=CHECK_NAME,
            passed=True,
            description=f"{identifier} is not an Iceberg table of the catalog: nothing to measure",
            metadata={"iceberg_table": False},
        )
    health = table_health(table, policy_for(identifier))
    problems = health.problems()
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=CHECK_NAME,
        passed=not problems,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(problems) or "file count and snapshots within bounds",
        metadata={"iceberg_table": True, **health.as_metadata()},
    )


def build_table_health_checks(keys: Sequence[dg.AssetKey]) -> dg.AssetChecksDefinition:
    """The health check of every asset in ``keys``."""
    specs = [
        dg.AssetCheckSpec(
            CHECK_NAME,
            asset=key,
            description="Warns on too many small data files or snapshots; records file count, "
            "mean file size, snapshots and bytes.",
        )
        for key in keys
    ]

    @dg.multi_asset_check(specs=specs, can_subset=True, name="iceberg_table_health_checks")
    def iceberg_table_health_checks(
        context: dg.AssetCheckExecutionContext, lakehouse: LakehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        settings = lakehouse.settings()
        catalog, policy_for = get_catalog(settings), policy_source(settings)
        for check_key in context.selected_asset_check_keys:
            yield health_result(catalog, check_key.asset_key, policy_for)

    return iceberg_table_health_checks
