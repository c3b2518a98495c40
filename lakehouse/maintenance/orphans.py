"""Orphan-file removal on the embedded engine: the project's own sweep (pyiceberg 0.12 has none,
apache/iceberg-python#1200).

An orphan is a file under a table's ``data/`` or ``metadata/`` folder that nothing the table keeps
refers to. Reachable, as in Iceberg's own ``ReachableFileUtil`` (apache/iceberg
``core/src/main/java/org/apache/iceberg/ReachableFileUtil.java``): the current metadata file and
every metadata file of its log, statistics files, and for every kept snapshot its manifest list,
its manifests and every file their entries name (deleted entries included: keeping one too many
is harmless). Only files older than the policy's ``orphan_min_age`` are removed, since a writer
puts its data files down before it commits them; only Iceberg's own kinds of file are touched,
and never a path inside another table's location. The sweep assumes one catalog owns the
warehouse: a file that only another catalog's table refers to looks like an orphan here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pyiceberg.table import Table

from lakehouse.maintenance.policy import MaintenancePolicy

ICEBERG_FILE_SUFFIXES = (".parquet", ".avro", ".orc", ".metadata.json", ".puffin", ".stats")
SWEPT_FOLDERS = ("data", "metadata")


class SweepError(ValueError):
    """The sweep cannot run on this table; nothing was removed."""


@dataclass(frozen=True)
class SweepResult:
    files_seen: int
    removed: tuple[str, ...]
    too_young: int  # unreferenced but inside the safety window: kept


def reachable_files(table: Table) -> set[str]:
    """Local paths of every file the table's metadata refers to."""
    metadata = table.metadata
    uris = {table.metadata_location, *(entry.metadata_file for entry in metadata.metadata_log)}
    uris |= {s.statistics_path for s in metadata.statistics}
    uris |= {s.statistics_path for s in metadata.partition_statistics}
    for snapshot in table.snapshots():
        uris.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            uris.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False):
                uris.add(entry.data_file.file_path)
    return {str(local_path(uri)) for uri in uris}


def remove_orphans(
    table: Table,
    policy: MaintenancePolicy,
    now: datetime,
    other_locations: Iterable[str] = (),
) -> SweepResult:
    """Remove the table's orphan files older than the safety window."""
    root = local_path(table.location())
    others = [local_path(o) for o in other_locations if local_path(o) != root]
    if any(root in other.parents for other in others):
        # Never the case for the project's tables (<warehouse>/<namespace>/<table>); refuse anyway.
        raise SweepError(f"{table.name()}: another table lies inside {root}; not sweeping it")
    reachable = reachable_files(table)
    cutoff = (now - policy.orphan_min_age).timestamp()
    seen, removed, too_young = 0, [], 0
    for path in _iceberg_files(root):
        seen += 1
        if str(path) in reachable:
            continue
        if path.stat().st_mtime >= cutoff:
            too_young += 1
            continue
        path.unlink(missing_ok=True)
        removed.append(str(path))
    return SweepResult(files_seen=seen, removed=tuple(removed), too_young=too_young)


def is_local(uri: str) -> bool:
    """Whether the sweep can list ``uri`` (a local folder, not an object store)."""
    return urlsplit(uri).scheme in ("", "file")


def local_path(uri: str) -> Path:
    """The local path of a ``file://`` URI or plain path; other schemes are the cluster's job."""
    if is_local(uri):
        parts = urlsplit(uri)
        return Path(unquote(parts.path) if parts.scheme else uri)
    raise SweepError(
        f"{uri}: the embedded sweep reads local files only; in the cluster Trino's "
        "remove_orphan_files runs instead (lakehouse/maintenance/trino.py)"
    )


def _iceberg_files(root: Path) -> Iterator[Path]:
    for folder in SWEPT_FOLDERS:
        for directory, _, names in os.walk(root / folder):
            for name in names:
                if name.endswith(ICEBERG_FILE_SUFFIXES):
                    yield Path(directory) / name
