"""What maintenance keeps and compacts: the project's defaults, or Polaris' applicable policies.

Polaris 1.7.0 stores maintenance policies and returns them per table (``applicable-policies``,
table level overriding namespace overriding catalog) but runs none of them. Their content is the
JSON of the predefined types (apache/polaris at apache-polaris-1.7.0,
``polaris-core/src/main/resources/schemas/policies/system/<type>/2025-02-03.json``): a required
boolean ``enable``, an optional ``version`` and a ``config`` map of free-form keys; orphan removal
adds ``max_orphan_file_age_in_days`` and ``locations``. The keys read from ``config`` are the ones
of those schemas' examples (``max_snapshot_age_days``, ``min_snapshot_to_keep``,
``max_ref_age_days``, ``target_file_size_bytes``) plus this project's own ``min_input_files`` and
``min_build_tags_to_keep``. ``system.metadata-compaction`` switches manifest rewriting.

Fields of those schemas no engine here applies are ignored with a warning naming the policy
(``IGNORED_FIELDS``): ``locations`` (Trino's ``remove_orphan_files`` and the embedded sweep only
look in the table's own location, the safe reading the schema itself recommends), and the
examples' ``compaction_strategy``, ``max-concurrent-file-group-rewrites``, ``spec_id`` and
``prefix_mismatch_mode`` (Spark action options: Trino's procedures take no such argument).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

log = logging.getLogger(__name__)

SNAPSHOT_EXPIRY = "system.snapshot-expiry"
DATA_COMPACTION = "system.data-compaction"
ORPHAN_FILE_REMOVAL = "system.orphan-file-removal"
METADATA_COMPACTION = "system.metadata-compaction"
POLICY_SCHEMA_VERSION = "2025-02-03"  # the only version Polaris 1.7.0 accepts


class PolicyError(ValueError):
    """A policy's content cannot be read; the message names the policy."""


@dataclass(frozen=True)
class MaintenancePolicy:
    """Retention and compaction targets of one table."""

    expire_snapshots: bool = True
    # Snapshots younger than this stay (time travel, and a margin for the load marker).
    max_snapshot_age: timedelta = timedelta(days=7)
    min_snapshots_to_keep: int = 5
    # Build tags (``build-...``, one per published build) age out: a tag older than this is
    # removed unless it is among the newest ``min_build_tags_to_keep`` or tags the build the
    # registry publishes now. Two weeks of daily builds to read or roll back to; None keeps all.
    # Tags made by hand never age out.
    max_tag_age: timedelta | None = timedelta(days=14)
    min_build_tags_to_keep: int = 7
    compact: bool = True
    target_file_size_bytes: int = 128 * 1024 * 1024
    # A partition is rewritten once it holds this many files under a quarter of the target.
    min_input_files: int = 5
    # Rewrite the manifests (Trino's optimize_manifests; pyiceberg 0.12 has no equivalent).
    compact_manifests: bool = True
    remove_orphans: bool = True
    # A file younger than this may belong to a commit still in flight: never removed.
    orphan_min_age: timedelta = timedelta(days=3)

    @property
    def small_file_bytes(self) -> int:
        return self.target_file_size_bytes // 4


DEFAULT_POLICY = MaintenancePolicy()
PolicyFor = Callable[[str], MaintenancePolicy]  # the policy of a table, by ``namespace.table``


def policy_content(policy_type: str, policy: MaintenancePolicy) -> dict[str, Any]:
    """The Polaris policy content (a JSON object) declaring ``policy``'s targets of one type."""
    if policy_type == SNAPSHOT_EXPIRY:
        config: dict[str, Any] = {
            "max_snapshot_age_days": _in_days(policy.max_snapshot_age),
            "min_snapshot_to_keep": policy.min_snapshots_to_keep,
        }
        if policy.max_tag_age is not None:
            config["max_ref_age_days"] = _in_days(policy.max_tag_age)
            config["min_build_tags_to_keep"] = policy.min_build_tags_to_keep
        return {
            "version": POLICY_SCHEMA_VERSION,
            "enable": policy.expire_snapshots,
            "config": config,
        }
    if policy_type == DATA_COMPACTION:
        config = {
            "target_file_size_bytes": policy.target_file_size_bytes,
            "min_input_files": policy.min_input_files,
        }
        return {"version": POLICY_SCHEMA_VERSION, "enable": policy.compact, "config": config}
    if policy_type == ORPHAN_FILE_REMOVAL:
        return {
            "version": POLICY_SCHEMA_VERSION,
            "enable": policy.remove_orphans,
            "max_orphan_file_age_in_days": _in_days(policy.orphan_min_age),
        }
    if policy_type == METADATA_COMPACTION:
        return {"version": POLICY_SCHEMA_VERSION, "enable": policy.compact_manifests}
    raise PolicyError(f"{policy_type!r} is not a maintenance policy type this project declares")


def _days(value: Any) -> timedelta:
    return timedelta(days=float(value))


# Per policy type: the field its ``enable`` switches, and the fields its content sets, each as
# (field, key, where the key is: ``config`` or the content itself, how to read the value).
POLICY_FIELDS: dict[str, tuple[str, tuple[tuple[str, str, str, Callable[[Any], Any]], ...]]] = {
    SNAPSHOT_EXPIRY: (
        "expire_snapshots",
        (
            ("max_snapshot_age", "max_snapshot_age_days", "config", _days),
            ("min_snapshots_to_keep", "min_snapshot_to_keep", "config", int),
            ("max_tag_age", "max_ref_age_days", "config", _days),
            ("min_build_tags_to_keep", "min_build_tags_to_keep", "config", int),
        ),
    ),
    DATA_COMPACTION: (
        "compact",
        (
            ("target_file_size_bytes", "target_file_size_bytes", "config", int),
            ("min_input_files", "min_input_files", "config", int),
        ),
    ),
    ORPHAN_FILE_REMOVAL: (
        "remove_orphans",
        (("orphan_min_age", "max_orphan_file_age_in_days", "content", _days),),
    ),
    METADATA_COMPACTION: ("compact_manifests", ()),
}
# Fields of the Polaris 1.7.0 schemas (and their examples) that nothing here applies, per type:
# a policy setting one is read without it, and a warning names the policy and the field.
IGNORED_FIELDS: dict[str, tuple[str, ...]] = {
    DATA_COMPACTION: ("compaction_strategy", "max-concurrent-file-group-rewrites"),
    ORPHAN_FILE_REMOVAL: ("locations", "prefix_mismatch_mode"),
    METADATA_COMPACTION: ("spec_id",),
}


def from_applicable(
    applicable: Iterable[Mapping[str, Any]], default: MaintenancePolicy = DEFAULT_POLICY
) -> MaintenancePolicy:
    """The table's policy from Polaris' ``applicable-policies`` answer; ``default`` fills gaps."""
    policy = default
    for entry in applicable:
        kind, name = entry.get("policy-type"), entry.get("name")
        try:
            content = json.loads(entry.get("content") or "{}")
            enabled = content["enable"]
            if not isinstance(enabled, bool):
                raise TypeError("'enable' must be true or false")
            if kind not in POLICY_FIELDS:
                continue
            switch, fields = POLICY_FIELDS[kind]
            sources = {"config": content.get("config") or {}, "content": content}
            for field in IGNORED_FIELDS.get(kind, ()):
                if field in sources["config"] or field in content:
                    log.warning(
                        "Polaris policy %r (%s) sets %r, which no maintenance engine here "
                        "applies: ignored",
                        name,
                        kind,
                        field,
                    )
            changes = {switch: enabled}
            for field, key, where, read in fields:
                if key in sources[where]:
                    changes[field] = read(sources[where][key])
            policy = replace(policy, **changes)
        except (KeyError, TypeError, ValueError) as exc:
            raise PolicyError(f"Polaris policy {name!r} ({kind}) is malformed: {exc}") from exc
    return policy


def _in_days(age: timedelta) -> int | float:
    # Polaris 1.7.0 reads max_orphan_file_age_in_days into a Java int: whole days stay integers.
    days = age / timedelta(days=1)
    return int(days) if days.is_integer() else days
