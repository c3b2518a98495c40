"""Snapshot expiry on pyiceberg: expire what the policy lets go, never what something relies on.

Build tags (``build-...``, one per published build) age out first (:func:`age_build_tags`): a tag
on a snapshot older than the policy's ``max_tag_age`` (Polaris' ``max_ref_age_days``) is removed
unless it is among the table's newest ``min_build_tags_to_keep`` build tags or tags the snapshot
the build registry publishes now (after a rollback, possibly an old one). Tags made by hand and
branches are never removed. Kept, whatever their age: the current snapshot, the head of every
branch and remaining tag (pyiceberg refuses to expire those), the published snapshot, the newest
``min_snapshots_to_keep``, every snapshot younger than ``max_snapshot_age``, and every snapshot
``keep`` asks for: the caller passes the snapshots that carry the exactly-once marker of a load
not yet completed (``ingestion.pending``), so a load killed after its commit and resumed after an
expiry still finds its marker. Expiry drops snapshots from the metadata only; their files become
orphans for ``orphans.py`` to remove. So a build stays readable (``lakehouse.read`` as of its tag)
and a rollback target as long as its tag lives; after that, reading it names the tags left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pyiceberg.table import Table
from pyiceberg.table.refs import SnapshotRefType
from pyiceberg.table.snapshots import Snapshot

from lakehouse.maintenance.policy import MaintenancePolicy
from lakehouse.publish import BUILD_TAG_PREFIX


@dataclass(frozen=True)
class ExpiryResult:
    snapshots_before: int
    expired: int
    tags_removed: tuple[str, ...] = ()


def old_build_tags(
    table: Table, policy: MaintenancePolicy, now: datetime, published: int | None = None
) -> list[str]:
    """Build tags the policy lets go (none when ``max_tag_age`` is unset)."""
    if policy.max_tag_age is None:
        return []
    tagged = [
        (name, snapshot)
        for name, ref in table.metadata.refs.items()
        if ref.snapshot_ref_type == SnapshotRefType.TAG
        and name.startswith(BUILD_TAG_PREFIX)
        and (snapshot := table.snapshot_by_id(ref.snapshot_id)) is not None
    ]
    tagged.sort(key=lambda t: (t[1].timestamp_ms, t[1].sequence_number), reverse=True)
    cutoff_ms = (now - policy.max_tag_age).timestamp() * 1000
    return sorted(
        name
        for name, snapshot in tagged[policy.min_build_tags_to_keep :]
        if snapshot.timestamp_ms < cutoff_ms and snapshot.snapshot_id != published
    )


def age_build_tags(
    table: Table, policy: MaintenancePolicy, now: datetime, published: int | None = None
) -> tuple[str, ...]:
    """Remove the build tags the policy lets go, in one commit; returns their names."""
    tags = old_build_tags(table, policy, now, published)
    if tags:
        update = table.manage_snapshots()
        for name in tags:
            update = update.remove_tag(name)
        update.commit()
    return tuple(tags)


def expirable_snapshot_ids(
    table: Table,
    policy: MaintenancePolicy,
    now: datetime,
    keep: Callable[[Snapshot], bool] = lambda _: False,
    published: int | None = None,
) -> list[int]:
    """Ids of the snapshots the policy lets go, oldest first."""
    snapshots = sorted(table.snapshots(), key=lambda s: (s.timestamp_ms, s.sequence_number))
    cutoff_ms = (now - policy.max_snapshot_age).timestamp() * 1000
    protected = {ref.snapshot_id for ref in table.metadata.refs.values()} | {published}
    newest = (
        snapshots[len(snapshots) - policy.min_snapshots_to_keep :]
        if policy.min_snapshots_to_keep
        else []
    )
    protected |= {s.snapshot_id for s in newest}
    return [
        s.snapshot_id
        for s in snapshots
        if s.snapshot_id not in protected and s.timestamp_ms < cutoff_ms and not keep(s)
    ]


def expire_snapshots(
    table: Table,
    policy: MaintenancePolicy,
    now: datetime,
    keep: Callable[[Snapshot], bool] = lambda _: False,
    published: int | None = None,
) -> ExpiryResult:
    """Age the build tags, then expire the snapshots the policy lets go (one commit each).

    ``published``: the snapshot the build registry publishes for this table, if any.
    """
    before = len(table.snapshots())
    if not policy.expire_snapshots:
        return ExpiryResult(snapshots_before=before, expired=0)
    tags = age_build_tags(table, policy, now, published)
    ids = expirable_snapshot_ids(table, policy, now, keep, published)
    if ids:
        table.maintenance.expire_snapshots().by_ids(ids).commit()
    return ExpiryResult(snapshots_before=before, expired=len(ids), tags_removed=tags)
