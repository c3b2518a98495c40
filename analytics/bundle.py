"""Build Superset's import bundle from the dashboards as code, for one database connection.

    python -m analytics.bundle --database lakehouse --sqlalchemy-uri duckdb:///... --out bundle.zip

The ZIP is the v1 export/import format that ``superset import-dashboards -p`` and
``POST /api/v1/assets/import/`` read. Its shape follows Superset 6.1.0's importers and schemas
(apache/superset@6.1.0): ``superset/commands/importers/v1/utils.py`` (``metadata.yaml``:
``version: 1.0.0``; ``type`` is optional and, when present, must be ``Dashboard`` for the CLI but
``assets`` for the REST API, so it is left out), ``superset/databases/schemas.py``
(``ImportV1DatabaseSchema``), ``superset/datasets/schemas.py`` (``ImportV1DatasetSchema``),
``superset/charts/schemas.py`` (``ImportV1ChartSchema``), ``superset/dashboards/schemas.py``
(``ImportV1DashboardSchema``) and ``superset/commands/dashboard/importers/v1/utils.py`` (charts
are found through the ``position`` entries of type ``CHART`` and their ``meta.uuid``).

Every UUID is derived from the database name and the definition's name, so rebuilding gives the
same bundle and importing it again updates the same objects instead of adding copies.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import Any

import yaml

from analytics.spec import Chart, Dashboard, Dataset, Spec, SpecError, load_spec

IMPORT_VERSION = "1.0.0"
NAMESPACE = uuid.UUID("5f0c1f7e-8d55-4a34-9f38-8a2f4d1b7c10")  # this project's UUID namespace
TEMPORAL_TYPES = ("DATE", "TIMESTAMP")
VIZ_TYPES = {
    "big_number": "big_number_total",
    "line": "echarts_timeseries_line",
    "bar": "echarts_timeseries_bar",
    "pie": "pie",
    "table": "table",
}
GRID_COLUMNS = 12
WIDTHS = {"big_number": 4, "line": 8, "bar": 6, "pie": 6, "table": 12}


def object_uuid(database: str, kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{database}/{kind}/{name}"))


def database_config(database: str, sqlalchemy_uri: str) -> dict[str, Any]:
    return {
        "database_name": database,
        "sqlalchemy_uri": sqlalchemy_uri,
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,  # the dashboards only read
        "allow_csv_upload": False,
        "extra": {"allows_virtual_table_explore": True},
        "uuid": object_uuid(database, "database", database),
        "version": IMPORT_VERSION,
    }


def dataset_config(database: str, dataset: Dataset) -> dict[str, Any]:
    return {
        "table_name": dataset.name,
        "main_dttm_col": dataset.time_column,
        "description": dataset.description or None,
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "schema": None,
        "sql": dataset.sql,
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "uuid": object_uuid(database, "dataset", dataset.name),
        "metrics": [
            {"metric_name": name, "verbose_name": None, "expression": expression}
            for name, expression in dataset.metrics.items()
        ],
        "columns": [
            {
                "column_name": name,
                "type": column_type,
                "is_dttm": column_type.upper().startswith(TEMPORAL_TYPES),
                "is_active": True,
                "groupby": True,
                "filterable": True,
            }
            for name, column_type in dataset.columns.items()
        ],
        "version": IMPORT_VERSION,
        "database_uuid": object_uuid(database, "database", database),
    }


def form_data(chart: Chart, dataset: Dataset) -> dict[str, Any]:
    """The chart's ``params``: what the Explore view and the dashboard render from."""
    params: dict[str, Any] = {
        "viz_type": VIZ_TYPES[chart.kind],
        "datasource": "0__table",  # the importer puts the real dataset id here
        "adhoc_filters": [],
        "row_limit": chart.row_limit,
    }
    if chart.kind == "big_number":
        params |= {"metric": chart.metrics[0], "y_axis_format": "SMART_NUMBER"}
    elif chart.kind in ("line", "bar"):
        temporal = dataset.columns[chart.x_axis].upper().startswith(TEMPORAL_TYPES)
        params |= {
            "x_axis": chart.x_axis,
            "time_grain_sqla": "P1D" if temporal else None,
            "metrics": list(chart.metrics),
            "groupby": list(chart.groupby),
            "x_axis_sort_asc": True,
            "show_legend": True,
        }
    elif chart.kind == "pie":
        params |= {
            "groupby": list(chart.groupby),
            "metric": chart.metrics[0],
            "sort_by_metric": True,
            "show_labels": True,
            "label_type": "key_value",
        }
    elif chart.columns:
        params |= {
            "query_mode": "raw",
            "all_columns": list(chart.columns),
            "order_by_cols": [json.dumps(list(chart.order_by))] if chart.order_by else [],
        }
    else:
        params |= {"query_mode": "aggregate", "groupby": list(chart.groupby)}
        params["metrics"] = list(chart.metrics)
        if chart.order_by:
            params |= {
                "timeseries_limit_metric": chart.order_by[0],
                "order_desc": not chart.order_by[1],
            }
    return params


def query_context(chart: Chart, params: dict[str, Any]) -> dict[str, Any]:
    """The saved query of ``GET /api/v1/chart/<id>/data/``: the chart's columns and metrics,
    without the rendering's post-processing (pivots), so it returns the figures themselves."""
    query = {
        "columns": list(chart.dimensions),
        "orderby": [list(chart.order_by)] if chart.order_by else [],
        "row_limit": chart.row_limit,
        "filters": [],
        "extras": {"having": "", "where": ""},
    }
    # A raw table's query carries no `metrics` key: Superset groups by every column when
    # `metrics` is present, even empty
    # (`need_groupby = bool(metrics is not None or groupby)`, superset/models/helpers.py, 6.1.0).
    if chart.metrics:
        query["metrics"] = list(chart.metrics)
    return {
        "datasource": {"id": 0, "type": "table"},
        "force": False,
        "queries": [query],
        "form_data": params,
        "result_format": "json",
        "result_type": "full",
    }


def chart_config(database: str, dashboard: Dashboard, chart: Chart, dataset: Dataset) -> dict:
    params = form_data(chart, dataset)
    return {
        "slice_name": chart.title,
        "description": None,
        "viz_type": params["viz_type"],
        "params": params,
        "query_context": json.dumps(query_context(chart, params)),
        "cache_timeout": None,
        "uuid": object_uuid(database, "chart", f"{dashboard.slug}/{chart.key}"),
        "version": IMPORT_VERSION,
        "dataset_uuid": object_uuid(database, "dataset", dataset.name),
    }


def position(database: str, dashboard: Dashboard) -> dict[str, Any]:
    """The dashboard layout: charts packed left to right into rows of the 12-column grid."""
    layout: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": dashboard.title}},
    }
    row, used = None, GRID_COLUMNS
    for number, chart in enumerate(dashboard.charts, start=1):
        width = WIDTHS[chart.kind]
        if used + width > GRID_COLUMNS:
            row, used = f"ROW-{number}", 0
            layout["GRID_ID"]["children"].append(row)
            layout[row] = {
                "type": "ROW",
                "id": row,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID"],
                "meta": {"background": "BACKGROUND_TRANSPARENT"},
            }
        used += width
        chart_id = f"CHART-{chart.key}"
        layout[row]["children"].append(chart_id)
        layout[chart_id] = {
            "type": "CHART",
            "id": chart_id,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID", row],
            "meta": {
                "chartId": number,  # a placeholder id; the importer maps it by uuid
                "uuid": object_uuid(database, "chart", f"{dashboard.slug}/{chart.key}"),
                "width": width,
                "height": 50,
                "sliceName": chart.title,
            },
        }
    return layout


def dashboard_config(database: str, dashboard: Dashboard) -> dict[str, Any]:
    return {
        "dashboard_title": dashboard.title,
        "description": dashboard.description or None,
        "css": "",
        "slug": dashboard.slug,
        "uuid": object_uuid(database, "dashboard", dashboard.slug),
        "position": position(database, dashboard),
        "metadata": {
            "refresh_frequency": 0,
            "expanded_slices": {},
            "label_colors": {},
            "timed_refresh_immune_slices": [],
            "native_filter_configuration": [],
        },
        "published": True,
        "version": IMPORT_VERSION,
    }


def bundle_files(spec: Spec, database: str, sqlalchemy_uri: str) -> dict[str, dict[str, Any]]:
    """Path inside the ZIP -> YAML document."""
    root = "lakehouse_dashboards"
    files = {
        f"{root}/metadata.yaml": {"version": IMPORT_VERSION},
        f"{root}/databases/{database}.yaml": database_config(database, sqlalchemy_uri),
    }
    used = {chart.dataset for dashboard in spec.dashboards for chart in dashboard.charts}
    for name in sorted(used):
        files[f"{root}/datasets/{database}/{name}.yaml"] = dataset_config(
            database, spec.datasets[name]
        )
    for dashboard in spec.dashboards:
        files[f"{root}/dashboards/{dashboard.slug}.yaml"] = dashboard_config(database, dashboard)
        for chart in dashboard.charts:
            files[f"{root}/charts/{dashboard.slug}_{chart.key}.yaml"] = chart_config(
                database, dashboard, chart, spec.datasets[chart.dataset]
            )
    return files


def select_dashboards(spec: Spec, slugs: list[str] | None) -> Spec:
    if not slugs:
        return spec
    known = {dashboard.slug for dashboard in spec.dashboards}
    if unknown := sorted(set(slugs) - known):
        raise SpecError(
            f"no dashboard {', '.join(unknown)} (there are: {', '.join(sorted(known))})"
        )
    chosen = tuple(d for d in spec.dashboards if d.slug in slugs)
    return Spec(datasets=spec.datasets, dashboards=chosen)


def write_bundle(files: dict[str, dict[str, Any]], out: Path) -> None:
    """Write the ZIP whole or not at all: a failed build leaves any previous bundle in place."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, document in files.items():
            bundle.writestr(name, yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=out.parent, suffix=".zip.tmp", delete=False) as tmp:
        tmp.write(buffer.getvalue())
    os.replace(tmp.name, out)


def build(
    database: str, sqlalchemy_uri: str, out: Path, dashboards: list[str] | None = None
) -> Spec:
    spec = select_dashboards(load_spec(), dashboards)
    write_bundle(bundle_files(spec, database, sqlalchemy_uri), out)
    return spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="the Superset database name")
    parser.add_argument("--sqlalchemy-uri", required=True, help="its SQLAlchemy URI (no password)")
    parser.add_argument("--out", required=True, type=Path, help="where to write the ZIP")
    parser.add_argument(
        "--dashboard",
        action="append",
        dest="dashboards",
        help="only this dashboard (by file name, e.g. revenue); repeat for more; default all",
    )
    args = parser.parse_args(argv)
    try:
        spec = build(args.database, args.sqlalchemy_uri, args.out, args.dashboards)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    charts = sum(len(dashboard.charts) for dashboard in spec.dashboards)
    print(f"wrote {args.out}: {len(spec.dashboards)} dashboards, {charts} charts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
