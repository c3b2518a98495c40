"""The nightly maintenance job: every Iceberg table of the catalog, on the profile's engine.

Embedded (and the SQL-catalog variant): pyiceberg and the project's sweep
(``lakehouse.maintenance.run``), keeping the snapshots that pending dlt loads still need
(``ingestion.pending``). Cluster: Trino's Iceberg procedures (``lakehouse.maintenance.trino``)
with each table's Polaris policy, as the ``table_maintainer`` principal
(``lakehouse.maintenance.settings``). Either way each table's health before and after is recorded
as an asset observation of the table's asset (``<namespace>/<table>``), and the run fails,
after every other table was maintained, if one table failed.
"""

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dagster as dg

from lakehouse.catalog import get_catalog
from lakehouse.maintenance.catalog_policies import policy_source
from lakehouse.maintenance.settings import maintainer_settings
from lakehouse.settings import Profile, Settings
from orchestration.defs.metadata import table_asset_key
from orchestration.resources import LakehouseResource

if TYPE_CHECKING:
    from lakehouse.maintenance.run import TableReport


def uses_trino(settings: Settings) -> bool:
    return settings.profile is Profile.K8S and not settings.sql_catalog_uri


@dg.op(description="Compact, expire snapshots and remove orphan files of every Iceberg table.")
def maintain_iceberg_tables(context: dg.OpExecutionContext, lakehouse: LakehouseResource) -> None:
    # dlt, pyiceberg and the engines' code when the job runs, not when the code location loads
    from ingestion.pending import needed_by_pending_load, pending_load_ids
    from lakehouse.maintenance.run import maintain_catalog
    from lakehouse.maintenance.trino import maintain_with_trino

    settings = maintainer_settings(lakehouse.settings())
    catalog, policy_for = get_catalog(settings), policy_source(settings)
    if uses_trino(settings):
        reports = maintain_with_trino(settings, catalog, policy_for)
    else:
        keep = needed_by_pending_load(pending_load_ids(settings))
        reports = maintain_catalog(catalog, policy_for, datetime.now(UTC), keep)
    for report in reports:
        context.log.info(report.summary())
        context.log_event(observation(report))
    failed = [r for r in reports if r.error]
    if failed:
        raise dg.Failure(
            f"maintenance failed on {len(failed)} of {len(reports)} table(s); the others were "
            "maintained, and each step is one commit, so the failed step changed nothing: "
            + "; ".join(r.summary() for r in failed)
        )


def observation(report: "TableReport") -> dg.AssetObservation:
    metadata: dict[str, dg.RawMetadataValue] = {"maintenance": report.summary()}
    for label, health in (("before", report.before), ("after", report.after)):
        if health is not None:
            metadata.update({f"{k}_{label}": v for k, v in health.as_metadata().items()})
    if report.sweep is not None:
        metadata["orphans_removed"] = len(report.sweep.removed)
    if report.expiry is not None:
        metadata["snapshots_expired"] = report.expiry.expired
        metadata["tags_removed"] = ", ".join(report.expiry.tags_removed) or "none"
    return dg.AssetObservation(asset_key=table_asset_key(report.table), metadata=metadata)


@dg.job(description="Nightly Iceberg table maintenance (compaction, snapshot expiry, orphans).")
def table_maintenance_job() -> None:
    maintain_iceberg_tables()


nightly_maintenance_schedule = dg.ScheduleDefinition(
    name="nightly_maintenance_schedule",
    job=table_maintenance_job,
    cron_schedule="30 4 * * *",  # after the 02:00 daily build has had time to finish
    execution_timezone="UTC",
)
