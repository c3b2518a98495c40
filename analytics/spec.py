"""The dashboards as code: datasets (``analytics/datasets/*.yml``) and dashboards with their charts
(``analytics/dashboards/*.yml``), loaded and checked against each other.

A chart names its dataset and only that dataset's columns and metrics; a mistake fails here, with
the file and the name, before anything reaches Superset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ANALYTICS_DIR = Path(__file__).resolve().parent
KINDS = ("big_number", "line", "bar", "pie", "table")
DIRECTIONS = {"ascending": True, "descending": False}


class SpecError(ValueError):
    """A definition is malformed or names something that does not exist."""


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    sql: str
    columns: dict[str, str]  # name -> type
    metrics: dict[str, str]  # name -> SQL expression
    time_column: str | None = None


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    kind: str
    dataset: str
    metrics: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()  # a raw table's columns
    groupby: tuple[str, ...] = ()
    x_axis: str | None = None
    order_by: tuple[str, bool] | None = None  # (column or metric, ascending)
    row_limit: int = 10_000

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The columns the chart's query groups by (or selects, for a raw table)."""
        return ((self.x_axis,) if self.x_axis else ()) + self.groupby + self.columns


@dataclass(frozen=True)
class Dashboard:
    slug: str
    title: str
    description: str
    charts: tuple[Chart, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Spec:
    datasets: dict[str, Dataset]
    dashboards: tuple[Dashboard, ...]


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping at the top")
    return data


def require(data: dict[str, Any], key: str, where: str) -> Any:
    if data.get(key) in (None, "", [], {}):
        raise SpecError(f"{where}: '{key}' is missing")
    return data[key]


def load_dataset(path: Path) -> Dataset:
    data = read_yaml(path)
    where = str(path)
    dataset = Dataset(
        name=path.stem,
        description=str(data.get("description", "")).strip(),
        sql=str(require(data, "sql", where)).strip(),
        columns={str(k): str(v) for k, v in require(data, "columns", where).items()},
        metrics={str(k): str(v) for k, v in (data.get("metrics") or {}).items()},
        time_column=data.get("time_column"),
    )
    if dataset.time_column and dataset.time_column not in dataset.columns:
        raise SpecError(f"{where}: time_column {dataset.time_column!r} is not a column")
    # Superset resolves an order-by name as a metric before a column (get_sqla_query in
    # superset/models/helpers.py at 6.1.0), so a shared name would aggregate a raw table.
    if shared := sorted(set(dataset.metrics) & set(dataset.columns)):
        raise SpecError(f"{where}: metrics named like columns: {', '.join(shared)}")
    return dataset


def load_chart(data: dict[str, Any], where: str, datasets: dict[str, Dataset]) -> Chart:
    where = f"{where}, chart {data.get('key', '?')!r}"
    kind = require(data, "kind", where)
    if kind not in KINDS:
        raise SpecError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    dataset = datasets.get(require(data, "dataset", where))
    if dataset is None:
        raise SpecError(f"{where}: no dataset {data['dataset']!r} in analytics/datasets/")
    metrics = tuple(data.get("metrics") or ([data["metric"]] if data.get("metric") else []))
    order_by = None
    if data.get("order_by"):
        name, direction = data["order_by"]
        if direction not in DIRECTIONS:
            raise SpecError(f"{where}: order_by direction must be ascending or descending")
        order_by = (name, DIRECTIONS[direction])
    chart = Chart(
        key=require(data, "key", where),
        title=require(data, "title", where),
        kind=kind,
        dataset=dataset.name,
        metrics=metrics,
        columns=tuple(data.get("columns") or ()),
        groupby=tuple(data.get("groupby") or ()),
        x_axis=data.get("x_axis"),
        order_by=order_by,
        row_limit=int(data.get("row_limit", 10_000)),
    )
    check_chart(chart, dataset, where)
    return chart


def check_chart(chart: Chart, dataset: Dataset, where: str) -> None:
    for name in chart.dimensions:
        if name not in dataset.columns:
            raise SpecError(f"{where}: {name!r} is not a column of dataset {dataset.name}")
    for name in chart.metrics:
        if name not in dataset.metrics:
            raise SpecError(f"{where}: {name!r} is not a metric of dataset {dataset.name}")
    needs_metrics = chart.kind != "table" or not chart.columns
    if needs_metrics and not chart.metrics:
        raise SpecError(f"{where}: a {chart.kind} chart needs metrics")
    if chart.kind == "table" and chart.columns and (chart.metrics or chart.groupby):
        raise SpecError(f"{where}: a table lists either columns, or groupby and metrics")
    if chart.kind in ("line", "bar") and not chart.x_axis:
        raise SpecError(f"{where}: a {chart.kind} chart needs an x_axis")
    if chart.kind == "pie" and (len(chart.groupby) != 1 or len(chart.metrics) != 1):
        raise SpecError(f"{where}: a pie chart needs one groupby column and one metric")
    if chart.order_by and chart.order_by[0] not in (*chart.dimensions, *chart.metrics):
        raise SpecError(f"{where}: order_by {chart.order_by[0]!r} is not shown by the chart")


def load_dashboard(path: Path, datasets: dict[str, Dataset]) -> Dashboard:
    data = read_yaml(path)
    where = str(path)
    charts = tuple(load_chart(chart, where, datasets) for chart in require(data, "charts", where))
    keys = [chart.key for chart in charts]
    if duplicated := sorted({key for key in keys if keys.count(key) > 1}):
        raise SpecError(f"{where}: chart keys used twice: {', '.join(duplicated)}")
    return Dashboard(
        slug=path.stem,
        title=require(data, "title", where),
        description=str(data.get("description", "")).strip(),
        charts=charts,
    )


def load_spec(root: Path = ANALYTICS_DIR) -> Spec:
    """Every dataset and dashboard under ``root`` (``datasets/``, ``dashboards/``)."""
    datasets = {path.stem: load_dataset(path) for path in sorted((root / "datasets").glob("*.yml"))}
    dashboards = tuple(
        load_dashboard(path, datasets) for path in sorted((root / "dashboards").glob("*.yml"))
    )
    if not dashboards:
        raise SpecError(f"{root / 'dashboards'}: no dashboard definitions")
    return Spec(datasets=datasets, dashboards=dashboards)
