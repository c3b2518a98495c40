"""The peer: the same graph from stock parts, as a user would assemble it from the docs.

dagster-dlt's ``@dlt_assets`` with its default translator over dlt's filesystem destination with
``table_format="iceberg"`` on the project's catalog (``bench.raw_step.peer_raw``'s setup), then
dagster-dbt's ``@dbt_assets`` with its defaults running ``dbt build`` over the same dbt project.
The default translators give the two halves different keys for the raw tables (``dlt_shop_*``
against ``raw/*``), so, as a user of the stock parts would, it runs them as two steps in order.
The environment (``LAKEHOUSE_DATA_DIR``, ...) is set by the caller.
"""

import argparse
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets
from dagster_dlt import DagsterDltResource, dlt_assets

from bench.generate import business_dates
from bench.raw_step import stock_pipeline
from ingestion.shop import shop
from lakehouse.settings import Settings
from orchestration.defs.dbt.project import dbt_project


def run_peer(recording: Path, days: int) -> None:
    settings = Settings.from_env()
    dates = business_dates(days)
    source = shop(dates[0], last_business_date=dates[-1], replay_dir=str(recording))

    @dlt_assets(dlt_source=source, dlt_pipeline=stock_pipeline(settings))
    def stock_raw(context: dg.AssetExecutionContext, dlt: DagsterDltResource):
        yield from dlt.run(context=context)

    @dbt_assets(manifest=dbt_project().manifest_path)
    def stock_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        yield from dbt.cli(["build"], context=context).stream()

    resources = {"dlt": DagsterDltResource(), "dbt": DbtCliResource(project_dir=dbt_project())}
    for assets in (stock_raw, stock_dbt):
        assert dg.materialize([assets], resources=resources).success


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recording", type=Path, required=True)
    parser.add_argument("--days", type=int, required=True)
    args = parser.parse_args()
    run_peer(args.recording, args.days)


if __name__ == "__main__":
    main()
