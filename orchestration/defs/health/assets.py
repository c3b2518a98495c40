"""The data-health figures, written after each publish as Iceberg tables ``health.*``
(``lakehouse.data_health``), read by the Data health dashboard on both profiles.

One multi-asset downstream of every gold model, the publish step and ``raw/quarantine``: in a run
of the whole graph it runs once the run's build is published, and it follows them (like the gold
marts) when automation runs. On the embedded default it then rebuilds the laptop's dashboard views
(``analytics.views``), so Superset shows the build just published without ``make dashboards``
running again; that file is the dashboards' own, never the pipeline's DuckDB file.

``lakehouse.data_health`` (pyiceberg schemas, pyarrow) and ``analytics.views`` (DuckDB) are
imported when the asset runs, not when the code location loads.
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dagster as dg

from ingestion.landing.settings import QUARANTINE_TABLE
from lakehouse.catalog import get_catalog
from lakehouse.layers import HEALTH_NAMESPACE, Layer
from lakehouse.settings import Profile
from orchestration.defs.dbt.translator import FOLLOW_DEPENDENCIES
from orchestration.partitions import single_run_backfill
from orchestration.resources import LakehouseResource

if TYPE_CHECKING:
    from lakehouse.data_health import RunFigure

FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
RUNS_LOOKED_AT = 500  # newest first; a job with no finished run among them is not shown
# One asset per health table: the names of lakehouse.data_health.SCHEMAS (a test checks they agree).
DESCRIPTIONS = {
    "tables": "Rows and last update of every raw, silver and gold table (silver and gold at "
    "their published build).",
    "quarantined_rows": "Rows of raw.quarantine per source, table and reason.",
    "last_runs": "The last finished run of each job (the run writing it is not finished yet, "
    "so it shows from the next one).",
}


def health_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([HEALTH_NAMESPACE, name])


def epoch_utc(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


def last_finished_runs(instance: dg.DagsterInstance) -> list["RunFigure"]:
    from lakehouse.data_health import RunFigure

    newest: dict[str, dg.RunRecord] = {}
    records = instance.get_run_records(
        filters=dg.RunsFilter(statuses=FINISHED), limit=RUNS_LOOKED_AT
    )
    for record in records:  # newest first
        newest.setdefault(record.dagster_run.job_name, record)
    return [
        RunFigure(
            job_name=job,
            status=record.dagster_run.status.value,
            started_at=epoch_utc(record.start_time),
            ended_at=epoch_utc(record.end_time),
            run_id=record.dagster_run.run_id,
        )
        for job, record in newest.items()
    ]


def build_health_assets(upstream: Sequence[dg.AssetKey]) -> dg.AssetsDefinition:
    """The health assets downstream of ``upstream`` (the gold models and the publish step)."""
    deps = [*upstream, dg.AssetKey([Layer.RAW.value, QUARANTINE_TABLE])]
    specs = [
        dg.AssetSpec(
            health_key(name),
            deps=deps,
            group_name=HEALTH_NAMESPACE,
            description=DESCRIPTIONS[name],
            kinds={"iceberg"},
            automation_condition=FOLLOW_DEPENDENCIES,
        )
        for name in DESCRIPTIONS
    ]

    @dg.multi_asset(specs=specs, name="data_health", backfill_policy=single_run_backfill)
    def data_health(
        context: dg.AssetExecutionContext, lakehouse: LakehouseResource
    ) -> Iterator[dg.MaterializeResult]:
        from analytics import views
        from lakehouse.data_health import measure

        settings = lakehouse.settings()
        written = measure(get_catalog(settings), last_finished_runs(context.instance))
        if settings.profile is Profile.LOCAL:
            gold, health = views.refresh(settings)
            context.log.info(
                f"{views.views_path(settings)}: {len(gold)} gold, {len(health)} health views"
            )
        for name, rows in written.items():
            yield dg.MaterializeResult(
                asset_key=health_key(name), metadata={"dagster/row_count": rows}
            )

    return data_health
