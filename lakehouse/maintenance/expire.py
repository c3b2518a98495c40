"""Snapshot expiry on pyiceberg: expire what the policy lets go, never what something relies on.

Tags older than the policy's ``max_tag_age`` (Polaris' ``max_ref_age_days``) are removed first;
branches never are. Kept, whatever their age: the current snapshot, the head of every branch and
remaining tag (pyiceberg refuses to expire those), the newest ``min_snapshots_to_keep``, every snapshot younger than
``max_snapshot_age``, and every snapshot ``keep`` asks for: the caller passes the snapshots that
carry the exactly-once marker of a load not yet completed (``ingestion.pending``), so a load
killed after its commit and resumed after an expiry still finds its marker. Expiry drops
snapshots from the metadata only; their files become orphans for ``orphans.py`` to remove.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pyiceberg.table import Table
from pyiceberg.table.refs import SnapshotRefType
from pyiceberg.table.snapshots import Snapshot

from lakehouse.maintenance.policy import MaintenancePolicy


@dataclass(frozen=True)
class ExpiryResult:
    snapshots_before: int
    expired: int
    tags_removed: tuple[str, ...] = ()


def old_tags(table: Table, policy: MaintenancePolicy, now: datetime) -> list[str]:
    """Tags whose snapshot is older than ``max_tag_age`` (none when it is unset)."""
    if policy.max_tag_age is None:
        return []
    cutoff_ms = (now - policy.max_tag_age).timestamp() * 1000
    return sorted(
        name
        for name, ref in table.metadata.refs.items()
        if ref.snapshot_ref_type == SnapshotRefType.TAG
        and (snapshot := table.snapshot_by_id(ref.snapshot_id)) is not None
        and snapshot.timestamp_ms < cutoff_ms
    )


def expirable_snapshot_ids(
    table: Table,
    policy: MaintenancePolicy,
    now: datetime,
    keep: Callable[[Snapshot], bool] = lambda _: False,
) -> list[int]:
    """Ids of the snapshots the policy lets go, oldest first."""
    snapshots = sorted(table.snapshots(), key=lambda s: (s.timestamp_ms, s.sequence_number))
    cutoff_ms = (now - policy.max_snapshot_age).timestamp() * 1000
    protected = {ref.snapshot_id for ref in table.metadata.refs.values()}
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
) -> ExpiryResult:
    """Expire the snapshots the policy lets go, in one commit (nothing if none)."""
    before = len(table.snapshots())
    if not policy.expire_snapshots:
        return ExpiryResult(snapshots_before=before, expired=0)
    tags = old_tags(table, policy, now)
    if tags:
        update = table.manage_snapshots()
        for name in tags:
            update = update.remove_tag(name)
        update.commit()
    ids = expirable_snapshot_ids(table, policy, now, keep)
    if ids:
        table.maintenance.expire_snapshots().by_ids(ids).commit()
    return ExpiryResult(snapshots_before=before, expired=len(ids), tags_removed=tuple(tags))
