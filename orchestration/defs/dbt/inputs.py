"""Skip a dbt build that already succeeded for the same business dates on the same inputs.

A silver model recomputes the keys touched in the run's window of business dates from their
whole history. If that window was built when every raw Iceberg table was at its current snapshot
and no model, test or macro has changed since, building it again would write the same rows: the
fixed cost of a run with no new data is then dlt's check plus this comparison, not a dbt build.
Another window built on the same inputs does not vouch for this one (raw rows of this window may
have been loaded without a dbt build of it), and the ledger is kept per asset selection (a
bronze-only run does not vouch for gold).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from pyiceberg.catalog import Catalog

from lakehouse.catalog import layer_tables
from lakehouse.layers import Layer


def raw_snapshots(catalog: Catalog) -> dict[str, int | None]:
    """The current snapshot id of every raw table (metadata only, no data read)."""
    return {
        name: snapshot.snapshot_id if (snapshot := table.current_snapshot()) else None
        for name, table in layer_tables(catalog, Layer.RAW).items()
    }


def project_checksums(manifest: Mapping[str, Any]) -> dict[str, str]:
    """Checksums of every model, test, source and project macro: what dbt would run."""
    checksums = {uid: node["checksum"]["checksum"] for uid, node in manifest["nodes"].items()}
    project = manifest["metadata"].get("project_name")
    for uid, macro in manifest["macros"].items():
        if macro.get("package_name") == project:
            checksums[uid] = hashlib.sha256(macro["macro_sql"].encode()).hexdigest()
    return checksums


def fingerprint(catalog: Catalog, manifest: Mapping[str, Any]) -> str:
    payload = {"raw": raw_snapshots(catalog), "project": project_checksums(manifest)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def selection_id(keys: Iterable[dg.AssetKey]) -> str:
    return hashlib.sha256(",".join(sorted(k.to_user_string() for k in keys)).encode()).hexdigest()


class BuildLedger:
    """Per selection: the inputs fingerprint of the last successful builds and their windows.

    Kept in a small JSON file: ``{selection: {"inputs": fingerprint, "windows": [[start, end]]}}``.
    A build on new inputs replaces the entry; on the same inputs it adds its window.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, dict[str, Any]]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def built(self, selection: str, inputs: str, window: tuple[str, str]) -> bool:
        """Whether a build of ``window`` succeeded on exactly these inputs."""
        entry = self._read().get(selection)
        return bool(entry) and entry["inputs"] == inputs and list(window) in entry["windows"]

    def record(self, selection: str, inputs: str, window: tuple[str, str]) -> None:
        entries = self._read()
        entry = entries.get(selection)
        if not entry or entry["inputs"] != inputs:
            entry = {"inputs": inputs, "windows": []}
        if list(window) not in entry["windows"]:
            entry["windows"].append(list(window))
        entries[selection] = entry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entries, indent=2, sort_keys=True))
        tmp.replace(self.path)  # atomic: a killed run leaves the old ledger
