"""Every Iceberg table of the catalog, discovered from the catalog (no table names in code)."""

from __future__ import annotations

from collections.abc import Iterator

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import ForbiddenError, NoSuchNamespaceError, NoSuchTableError
from pyiceberg.table import Table


def catalog_tables(catalog: Catalog) -> Iterator[tuple[str, Table]]:
    """``(namespace.table, table)`` for every table of every namespace, sorted by name.

    A table dropped between listing and loading (a concurrent job) is skipped, not an error; so
    is a namespace the principal may see but not list (in the cluster, Polaris' ``maintenance``
    namespace holds policies, not tables, and the maintainer holds no grant on it).
    """
    for namespace in sorted(_all_namespaces(catalog, ())):
        try:
            identifiers = catalog.list_tables(namespace)
        except (NoSuchNamespaceError, ForbiddenError):
            continue
        for identifier in sorted(identifiers):
            try:
                yield ".".join(identifier), catalog.load_table(identifier)
            except NoSuchTableError:
                continue


def _all_namespaces(catalog: Catalog, parent: tuple[str, ...]) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for namespace in catalog.list_namespaces(parent):
        namespace = tuple(namespace)
        if namespace in found or namespace == parent:
            continue
        found.add(namespace)
        found |= _all_namespaces(catalog, namespace)
    return found
