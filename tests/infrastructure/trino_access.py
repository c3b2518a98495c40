"""Trino's file-based system access control, evaluated as Trino states it, for the rules in
``values/trino.yaml`` (Trino docs, security/file-system-access-control;
lib/trino-plugin-toolkit/src/main/java/io/trino/plugin/base/security/
FileBasedSystemAccessControl.java): in each section the FIRST rule whose patterns all match
applies (``user``, ``catalog``, ``schema``, ``table`` are regular expressions matched against the
whole name; a missing pattern matches anything); a section with rules and no matching rule
denies. Catalog ``allow`` is all | read-only | none (``true``/``false`` are the legacy
all/none); table access is the matching rule's privileges, and a read-only catalog limits them
to SELECT."""

from __future__ import annotations

import re
from typing import Any

ALL_PRIVILEGES = {"SELECT", "INSERT", "DELETE", "UPDATE", "OWNERSHIP", "GRANT_SELECT"}


def first_match(rules: list[dict[str, Any]], **names: str) -> dict[str, Any] | None:
    for rule in rules:
        if all(re.fullmatch(rule.get(key, ".*"), value) for key, value in names.items()):
            return rule
    return None


def catalog_access(rules: dict[str, Any], user: str, catalog: str) -> str:
    rule = first_match(rules.get("catalogs", [{"allow": "all"}]), user=user, catalog=catalog)
    allow = rule.get("allow", "none") if rule else "none"
    return {True: "all", False: "none"}.get(allow, allow)


def table_privileges(
    rules: dict[str, Any], user: str, catalog: str, schema: str, table: str
) -> set[str]:
    allow = catalog_access(rules, user, catalog)
    if allow == "none":
        return set()
    table_rule = first_match(
        rules["tables"], user=user, catalog=catalog, schema=schema, table=table
    )
    privileges = set(table_rule["privileges"]) if table_rule else set()
    return privileges & {"SELECT"} if allow == "read-only" else privileges


def visible_schemas(
    rules: dict[str, Any], user: str, catalog: str, schemas: tuple[str, ...]
) -> set[str]:
    """Schemas SHOW SCHEMAS lists: any schema rule owning it, or any table rule granting a
    privilege in it, not only the first match (FileBasedSystemAccessControl.checkAnySchemaAccess,
    CatalogSchemaAccessControlRule / CatalogTableAccessControlRule.toAnyCatalogSchemaPermissionsRule)."""
    if catalog_access(rules, user, catalog) == "none":
        return set()

    def matches(rule: dict[str, Any], schema: str) -> bool:
        names = {"user": user, "catalog": catalog, "schema": schema}
        return all(re.fullmatch(rule.get(key, ".*"), value) for key, value in names.items())

    return {
        schema
        for schema in schemas
        if any(rule.get("owner") and matches(rule, schema) for rule in rules.get("schemas", []))
        or any(rule.get("privileges") and matches(rule, schema) for rule in rules["tables"])
    }
