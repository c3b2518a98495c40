"""The definitions and the builder, without Superset: checks that fail early, a stable bundle,
nothing half-written. (The real import is tests/analytics/test_dashboards.py.)"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml

from analytics import bundle
from analytics.spec import ANALYTICS_DIR, SpecError, load_spec

URI = "duckdb:////tmp/views.duckdb?access_mode=read_only"


def contents(path: Path) -> dict[str, dict]:
    with zipfile.ZipFile(path) as zipped:
        return {name: yaml.safe_load(zipped.read(name)) for name in zipped.namelist()}


def copy_of_definitions(tmp_path: Path) -> Path:
    root = tmp_path / "analytics"
    for folder in ("datasets", "dashboards"):
        shutil.copytree(ANALYTICS_DIR / folder, root / folder)
    return root


def test_the_four_dashboards_of_the_issue_are_defined() -> None:
    spec = load_spec()
    assert {d.slug for d in spec.dashboards} == {"revenue", "customers", "products", "data_health"}
    gold_only = [d for name, d in spec.datasets.items() if not name.startswith("health_")]
    for dataset in gold_only:
        assert "gold." in dataset.sql and "silver." not in dataset.sql, dataset.name


def test_a_chart_naming_a_missing_column_fails_with_its_file(tmp_path: Path) -> None:
    root = copy_of_definitions(tmp_path)
    revenue = root / "dashboards" / "revenue.yml"
    revenue.write_text(revenue.read_text().replace("x_axis: order_date", "x_axis: order_day"))
    with pytest.raises(SpecError, match=r"revenue\.yml.*'order_day' is not a column"):
        load_spec(root)


def test_rebuilding_gives_the_same_objects(tmp_path: Path) -> None:
    first = bundle.build("lakehouse", URI, tmp_path / "one.zip")
    bundle.build("lakehouse", URI, tmp_path / "two.zip")
    one, two = contents(tmp_path / "one.zip"), contents(tmp_path / "two.zip")
    assert one == two
    charts = [doc for name, doc in one.items() if "/charts/" in name]
    assert len(charts) == sum(len(d.charts) for d in first.dashboards)
    assert len({chart["uuid"] for chart in charts}) == len(charts)
    database = next(doc for name, doc in one.items() if "/databases/" in name)
    assert database["sqlalchemy_uri"] == URI
    bundle.build("trino", "trino://superset@trino:8080/iceberg", tmp_path / "trino.zip")
    other = contents(tmp_path / "trino.zip")
    assert not {d["uuid"] for d in one.values() if "uuid" in d} & {
        d["uuid"] for d in other.values() if "uuid" in d
    }, "another connection gets its own objects"


def test_every_dashboard_places_each_of_its_charts(tmp_path: Path) -> None:
    bundle.build("lakehouse", URI, tmp_path / "b.zip")
    files = contents(tmp_path / "b.zip")
    chart_uuids = {doc["uuid"] for name, doc in files.items() if "/charts/" in name}
    placed = set()
    for name, doc in files.items():
        if "/dashboards/" in name:
            placed |= {
                item["meta"]["uuid"]
                for item in doc["position"].values()
                if isinstance(item, dict) and item.get("type") == "CHART"
            }
    assert placed == chart_uuids


def test_a_failed_build_leaves_the_previous_bundle(tmp_path: Path) -> None:
    out = tmp_path / "bundle.zip"
    bundle.build("lakehouse", URI, out)
    before = out.read_bytes()
    assert (
        bundle.main(
            [
                "--database",
                "x",
                "--sqlalchemy-uri",
                URI,
                "--out",
                str(out),
                "--dashboard",
                "no_such_dashboard",
            ]
        )
        == 1
    )
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["bundle.zip"]


def test_the_dbt_exposures_name_the_dashboards_and_their_gold_tables() -> None:
    """Each gold dashboard has an exposure whose URL is its page and whose depends_on are the
    gold tables its datasets read (the data health dashboard reads the catalog, not models)."""
    exposures_yml = ANALYTICS_DIR.parent / "transformations" / "models" / "gold" / "_exposures.yml"
    exposures = {
        e["url"].rstrip("/").rsplit("/", 1)[1]: e
        for e in yaml.safe_load(exposures_yml.read_text())["exposures"]
        if e["type"] == "dashboard"
    }
    spec = load_spec()
    gold_dashboards = {d.slug: d for d in spec.dashboards if d.slug != "data_health"}
    assert set(exposures) == set(gold_dashboards)
    for slug, dashboard in gold_dashboards.items():
        assert exposures[slug]["url"] == f"http://localhost:8088/superset/dashboard/{slug}/"
        sql = " ".join(spec.datasets[chart.dataset].sql for chart in dashboard.charts)
        read = set(re.findall(r"\bgold\.(\w+)", sql))
        assert {f"ref('{table}')" for table in read} == set(exposures[slug]["depends_on"]), slug


def test_raw_tables_save_a_query_without_metrics(tmp_path: Path) -> None:
    """Review finding: raw-table charts saved `metrics: []`, which Superset 6.1.0 turns into a
    GROUP BY of every column (`need_groupby = bool(metrics is not None or groupby)`,
    superset/models/helpers.py). The real query is checked in test_dashboards.py."""
    bundle.build("lakehouse", URI, tmp_path / "b.zip")
    charts = [doc for name, doc in contents(tmp_path / "b.zip").items() if "/charts/" in name]
    raw = [chart for chart in charts if chart["params"].get("query_mode") == "raw"]
    assert raw, "the definitions have raw tables"
    for chart in charts:
        (query,) = json.loads(chart["query_context"])["queries"]
        if chart in raw:
            assert "metrics" not in query, chart["slice_name"]
        else:
            assert query["metrics"], chart["slice_name"]


def test_no_metric_is_named_like_a_column(tmp_path: Path) -> None:
    """Review finding: Superset resolves an order-by name as a metric before a column, so a raw
    table ordered by `net_revenue` (a column and a metric) ran `sum(net_revenue)`."""
    for dataset in load_spec().datasets.values():
        assert not set(dataset.metrics) & set(dataset.columns), dataset.name
    root = copy_of_definitions(tmp_path)
    daily = root / "datasets" / "daily_revenue.yml"
    daily.write_text(daily.read_text().replace("total_orders: sum", "orders: sum"))
    with pytest.raises(SpecError, match=r"daily_revenue\.yml: metrics named like columns: orders"):
        load_spec(root)
