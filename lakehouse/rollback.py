"""``python -m lakehouse.rollback TABLE --to TAG``: put a table back to a tagged build.

It prints what will change (the snapshot, build and rows now and after, columns that differ)
and asks before it does anything (``--yes`` skips the question; without a terminal it refuses).
The table's ``main`` branch is set to the tag's snapshot, in one commit; for a published table
(silver, gold) the build registry then records the rollback, so ``lakehouse.read`` and
``make sql`` follow it. No data file is deleted: rolling forward again is another rollback, to
the newer tag. Without ``--to`` it lists the table's tags.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from lakehouse.catalog import get_catalog
from lakehouse.layers import PUBLISHED_LAYERS
from lakehouse.publish import BUILD_ID_PROPERTY
from lakehouse.reading import ReadError, load, resolve_snapshot
from lakehouse.registry import BuildRecord, record_builds
from lakehouse.settings import Settings


def describe(table: Table, snapshot: Snapshot | None) -> str:
    if snapshot is None:
        return "no snapshot (empty)"
    summary = snapshot.summary
    rows = summary.get("total-records", "?") if summary else "?"
    build = (summary.get(BUILD_ID_PROPERTY) if summary else None) or "no build id"
    when = datetime.fromtimestamp(snapshot.timestamp_ms / 1000, UTC).isoformat(timespec="seconds")
    tags = [name for name, ref in table.refs().items() if ref.snapshot_id == snapshot.snapshot_id]
    return f"snapshot {snapshot.snapshot_id} ({', '.join(tags) or 'untagged'}; build {build}; {rows} rows; {when})"


def columns(table: Table, snapshot: Snapshot | None) -> list[str]:
    schema = (
        table.schemas().get(snapshot.schema_id)
        if snapshot and snapshot.schema_id is not None
        else None
    )
    return [field.name for field in (schema or table.schema()).fields]


def plan(table: Table, name: str, tag: str, current_id: int | None) -> list[str]:
    current = table.snapshot_by_id(current_id) if current_id is not None else None
    target = table.snapshot_by_name(tag)
    lines = [
        f"{name}:",
        f"  now:   {describe(table, current)}",
        f"  after: {describe(table, target)}",
    ]
    before, after = columns(table, current), columns(table, target)
    if dropped := [c for c in before if c not in after]:
        lines.append(f"  columns not in the tagged snapshot (read as absent): {', '.join(dropped)}")
    if added := [c for c in after if c not in before]:
        lines.append(f"  columns only in the tagged snapshot: {', '.join(added)}")
    return lines


def rollback(table_name: str, tag: str, *, settings: Settings | None = None) -> int:
    """Set ``table_name``'s main branch to ``tag`` and record it; returns the snapshot id."""
    catalog = get_catalog(settings or Settings.from_env())
    table = load(catalog, table_name)
    target = table.snapshot_by_name(tag)
    if target is None:
        raise ReadError(
            f"{table_name} has no tag {tag!r} (it has: {', '.join(sorted(table.refs()))})"
        )
    table.manage_snapshots().set_current_snapshot(ref_name=tag).commit()
    if table_name.split(".")[0] in {layer.value for layer in PUBLISHED_LAYERS}:
        record_builds(
            catalog,
            [BuildRecord(tag, tag, table_name, target.snapshot_id, datetime.now(UTC), "rollback")],
        )
    return target.snapshot_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", help="<layer>.<table>, e.g. gold.daily_revenue")
    parser.add_argument("--to", dest="tag", help="the tag to roll back to (omit to list tags)")
    parser.add_argument("--yes", action="store_true", help="do it without asking")
    args = parser.parse_args(argv)
    catalog = get_catalog(Settings.from_env())
    try:
        table = load(catalog, args.table)
        if args.tag is None:
            for name, ref in sorted(table.refs().items()):
                print(f"{name:<32} {describe(table, table.snapshot_by_id(ref.snapshot_id))}")
            return 0
        current_id = resolve_snapshot(catalog, table, args.table)
        resolve_snapshot(
            catalog, table, args.table, args.tag
        )  # refuses an unknown tag, naming the known
    except ReadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(plan(table, args.table, args.tag, current_id)))
    if current_id == table.snapshot_by_name(args.tag).snapshot_id:
        print("Nothing to do: the table is already at that snapshot.")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            print("Not rolled back: confirm with --yes (no terminal to ask on).", file=sys.stderr)
            return 1
        if input("Roll back? [y/N] ").strip().lower() not in {"y", "yes"}:
            print("Not rolled back.")
            return 1
    snapshot_id = rollback(args.table, args.tag)
    print(f"Rolled back {args.table} to {args.tag} (snapshot {snapshot_id}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
