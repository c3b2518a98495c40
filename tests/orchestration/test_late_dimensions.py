"""Late-arriving dimensions: a backfill in pieces with a gap, run through Dagster.

Business dates 1-2 are backfilled, then date 6 runs before the gap 3-5 is filled, then date 7.
Date 6 holds orders of customers who signed up on 3-5 and lines sold at prices set on 3-5: their
dimension rows are not delivered yet. Every run must succeed (those facts point at inferred
members, counted by a warning check), and once the gap is filled silver and gold must be exactly
what loading the dates in order gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from lakehouse.settings import Settings

pytestmark = pytest.mark.slow


def day(n: int) -> date:
    """Business date n of the shop (day 1 = its start date, 2024-01-01)."""
    return date(2024, 1, n)


# Windows of business dates (first, last), one run each: a window of several dates is a backfill.
IN_ORDER = [(day(1), day(2)), *((day(n), day(n)) for n in range(3, 8))]
WITH_GAP = [(day(1), day(2)), (day(6), day(6)), (day(3), day(5)), (day(7), day(7))]
WAITING_CHECK = "not_inferred_member"  # the warning-level dbt test on the facts' dimension keys
PAYMENTS_CHECK = "assert_paid_orders_have_payments"  # paid orders whose payments are not loaded
# fact table, dimension key column, dimension table
DIMENSION_KEYS = [
    ("gold.fct_orders", "customer_key", "silver.dim_customer"),
    ("gold.fct_order_items", "customer_key", "silver.dim_customer"),
    ("gold.fct_order_items", "product_key", "silver.dim_product"),
]


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: list[tuple]  # sorted

    def column(self, name: str) -> list:
        n = self.columns.index(name)
        return [row[n] for row in self.rows]


@dataclass
class Sequence:
    """What a sequence of runs left: silver and gold after each run, and the runs' results."""

    tables: list[dict[str, Table]]
    results: list[dg.ExecuteInProcessResult]
    # silver and gold rebuilt by a full refresh right after the run of that index
    refreshed: dict[int, dict[str, Table]] = field(default_factory=dict)

    def waiting(self, run: int) -> dict[str, int]:
        """Facts pointing at an inferred member after ``run``, per fact and dimension key."""
        return waiting_facts(self.tables[run])


def run_window(
    defs, instance, first: date, last: date, *, full_refresh: bool = False
) -> dg.ExecuteInProcessResult:
    """The whole graph for business dates first..last as one run (a backfill if more than one);
    with ``full_refresh`` dbt rebuilds every model from all of raw."""
    tags = {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }
    config = {"ops": {"incremental_dbt_assets": {"config": {"full_refresh": full_refresh}}}}
    job = defs.resolve_job_def("lakehouse_job")
    return job.execute_in_process(
        instance=instance, tags=tags, run_config=config, raise_on_error=False
    )


def silver_and_gold(database: Path) -> dict[str, Table]:
    """Every silver and gold table, all rows sorted: the content compared between sequences,
    without ``built_at`` (when the run that wrote a row started: it differs from run to run)."""
    conn = duckdb.connect(str(database), read_only=True)
    try:
        names = conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('silver', 'gold') and table_type = 'BASE TABLE' order by 1"
        ).fetchall()
        tables = {}
        for (name,) in names:
            cursor = conn.execute(f"select columns(c -> c <> 'built_at') from {name} order by all")
            rows = cursor.fetchall()
            tables[name] = Table(tuple(d[0] for d in cursor.description), rows)
        return tables
    finally:
        conn.close()


def waiting_facts(tables: dict[str, Table]) -> dict[str, int]:
    counts = {}
    for fact, key, dimension in DIMENSION_KEYS:
        dim = tables[dimension]  # without is_inferred (the code before inferred members): none
        flags = (
            dim.column("is_inferred") if "is_inferred" in dim.columns else [False] * len(dim.rows)
        )
        inferred = {k for k, flag in zip(dim.column(key), flags, strict=True) if flag}
        counts[f"{fact.split('.')[1]}.{key}"] = sum(k in inferred for k in tables[fact].column(key))
    return counts


def run_sequence(
    defs, tmp: Path, windows: list[tuple[date, date]], refresh_after: int | None = None
) -> Sequence:
    """Run ``windows`` one after another in a fresh data folder; stop at the first failed run.
    After the run of index ``refresh_after``, also a full refresh of its window (which must change
    nothing, the incremental tables being what a full refresh gives)."""
    sequence = Sequence([], [])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAKEHOUSE_PROFILE", "local")
        mp.setenv("LAKEHOUSE_DATA_DIR", str(tmp / "data"))
        mp.setenv("DBT_TARGET", "local")
        database = Settings.from_env().duckdb_path
        with dg.instance_for_test() as instance:
            for n, (first, last) in enumerate(windows):
                result = run_window(defs, instance, first, last)
                sequence.results.append(result)
                if not result.success:
                    break
                sequence.tables.append(silver_and_gold(database))
                if n == refresh_after:
                    refresh = run_window(defs, instance, first, last, full_refresh=True)
                    assert refresh.success, failed_checks(refresh)
                    sequence.refreshed[n] = silver_and_gold(database)
    return sequence


def failed_checks(result: dg.ExecuteInProcessResult) -> list[tuple[str, str, str]]:
    return [
        (e.asset_key.to_user_string(), e.check_name, e.severity.value)
        for e in result.get_asset_check_evaluations()
        if not e.passed
    ]


@pytest.fixture(scope="module")
def in_order(defs, tmp_path_factory) -> Sequence:
    return run_sequence(defs, tmp_path_factory.mktemp("in_order"), IN_ORDER)


@pytest.fixture(scope="module")
def with_gap(defs, tmp_path_factory) -> Sequence:
    return run_sequence(defs, tmp_path_factory.mktemp("with_gap"), WITH_GAP, refresh_after=1)


def test_no_run_fails_when_a_backfill_leaves_a_gap(with_gap: Sequence) -> None:
    outcomes = [(r.success, failed_checks(r)) for r in with_gap.results]
    assert len(with_gap.results) == len(WITH_GAP), outcomes
    for result in with_gap.results:
        # nothing fails at error level (warnings are allowed)
        assert result.success, failed_checks(result)
        assert {severity for *_, severity in failed_checks(result)} <= {"WARN"}
    # Date 6 delivers orders whose payment arrived on 3-5: they wait for it (a warning, not a
    # failed build), and filling the gap brings the payments.
    payments = [
        {e.passed for e in r.get_asset_check_evaluations() if e.check_name == PAYMENTS_CHECK}
        for r in with_gap.results
    ]
    assert payments[1:3] == [{False}, {True}], payments


def test_facts_wait_on_inferred_members_until_the_gap_is_filled(with_gap: Sequence) -> None:
    """After date 6 (before 3-5) orders wait for their customer and lines for their customer
    and product version; the warning check reports exactly those facts; filling the gap
    re-points them all."""
    assert len(with_gap.tables) == len(WITH_GAP)
    after_date_6 = with_gap.waiting(1)
    assert all(after_date_6.values()), after_date_6
    # The check on <fact>.<key> is named not_inferred_member_<fact>_<key>__...
    warned = {
        name: e.metadata["dagster_dbt/failed_row_count"].value
        for e in with_gap.results[1].get_asset_check_evaluations()
        for name in after_date_6
        if e.check_name.startswith(f"{WAITING_CHECK}_{name.replace('.', '_')}__")
        and not e.passed
        and e.severity is dg.AssetCheckSeverity.WARN
    }
    assert warned == after_date_6
    for run in (0, 2, 3):
        assert set(with_gap.waiting(run).values()) == {0}, run
        checks = [
            e
            for e in with_gap.results[run].get_asset_check_evaluations()
            if e.check_name.startswith(WAITING_CHECK)
        ]
        assert len(checks) == len(DIMENSION_KEYS) and all(e.passed for e in checks), run


def test_filling_the_gap_gives_what_loading_in_order_gives(
    with_gap: Sequence, in_order: Sequence
) -> None:
    assert all(r.success for r in in_order.results), [failed_checks(r) for r in in_order.results]
    for run in range(len(IN_ORDER)):  # in order, no fact ever waits
        assert set(in_order.waiting(run).values()) == {0}, run
    expected, actual = in_order.tables[-1], with_gap.tables[-1]
    assert set(actual) == set(expected)
    for table, rows in expected.items():
        assert rows, table
        assert actual[table] == rows, table


def test_facts_waiting_on_inferred_members_equal_a_full_refresh(with_gap: Sequence) -> None:
    """In the gap (after date 6), the incrementally built inferred members and facts are the
    rows a full refresh over the same raw tables gives."""
    incremental, refreshed = with_gap.tables[1], with_gap.refreshed[1]
    assert set(refreshed) == set(incremental)
    for table, rows in refreshed.items():
        assert incremental[table] == rows, table
