"""Skip a dbt build whose inputs have not changed since the same build last succeeded.

Every silver model is incremental with "recompute the touched keys from their whole history", so
its tables equal a full refresh of the raw data as it is. If no raw Iceberg table has a new
snapshot and no model, test or macro changed, building again would write the same rows: the
fixed cost of a run with no new data is then dlt's check plus this comparison, not a dbt build.
The fingerprint is kept per asset selection (a bronze-only run does not vouch for gold).
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
    """The fingerprint of the last successful build, per selection, in a small JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, str]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def last(self, selection: str) -> str | None:
        return self._read().get(selection)

    def record(self, selection: str, value: str) -> None:
        entries = self._read() | {selection: value}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entries, indent=2, sort_keys=True))
        tmp.replace(self.path)  # atomic: a killed run leaves the old ledger
