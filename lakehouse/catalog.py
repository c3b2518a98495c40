"""The Iceberg catalog factory: one place that knows how to reach the catalog of each profile.

``catalog_properties`` is the single description of the catalog; pyiceberg (``get_catalog``, also
behind the raw destination) and the benchmark's stock dlt peer (``[iceberg_catalog]`` config) are
both given exactly this.

pyiceberg is imported when a catalog is opened or used, not with this module: the code location
imports it while it loads, and needs no catalog until a run starts.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from filelock import FileLock

from lakehouse.layers import Layer
from lakehouse.settings import CATALOG_NAME, Profile, Settings

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table


def catalog_properties(settings: Settings) -> dict[str, Any]:
    """pyiceberg ``load_catalog`` properties for the configured profile."""
    if settings.profile is Profile.LOCAL:
        return {
            "type": "sql",
            "uri": f"sqlite:///{settings.catalog_db}",
            "warehouse": settings.warehouse_uri,
        }
    rest = settings.rest
    assert rest is not None
    if settings.sql_catalog_uri:
        # A SQL catalog over the S3 warehouse: table locations are <warehouse_uri>/<ns>/<table>.
        catalog: dict[str, Any] = {
            "type": "sql",
            "uri": settings.sql_catalog_uri,
            "warehouse": settings.warehouse_uri,
        }
    else:
        catalog = {
            "type": "rest",
            "uri": rest.uri,
            "warehouse": rest.warehouse,
            # OAuth2 client-credentials flow against the catalog's token endpoint (Polaris).
            "credential": f"{rest.client_id}:{rest.client_secret}",
            "oauth2-server-uri": f"{rest.uri.rstrip('/')}/v1/oauth/tokens",
            "scope": rest.scope,
        }
    return {
        **catalog,
        # Clients bring their own S3 credentials: no vended credentials are requested.
        "s3.endpoint": rest.s3_endpoint,
        "s3.region": rest.s3_region,
        "s3.access-key-id": rest.s3_access_key_id,
        "s3.secret-access-key": rest.s3_secret_access_key,
        # MinIO/SeaweedFS serve buckets by path, not by virtual host.
        "s3.force-virtual-addressing": str(not rest.s3_path_style_access).lower(),
    }


def get_catalog(settings: Settings | None = None) -> Catalog:
    """Open the catalog. For ``local`` this creates the warehouse folder and catalog tables."""
    from pyiceberg.catalog import load_catalog

    settings = settings or Settings.from_env()
    if settings.profile is not Profile.LOCAL:
        return load_catalog(CATALOG_NAME, **catalog_properties(settings))
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    # Opening a SqlCatalog checks for its tables, then creates them: two processes (or dlt's
    # load threads) opening a fresh SQLite file at once both try, and one fails with "table
    # iceberg_tables already exists". A file lock serializes the opening; once the tables
    # exist every later open only reads them.
    with FileLock(settings.catalog_db.with_name(f"{settings.catalog_db.name}.lock")):
        return load_catalog(CATALOG_NAME, **catalog_properties(settings))


def ensure_namespace(catalog: Catalog, namespace: str) -> None:
    """Create ``namespace`` only when it is missing. In the cluster the Polaris bootstrap made it,
    and Polaris authorizes CREATE_NAMESPACE on the parent before it looks for an existing one
    (apache/polaris 1.7.0, IcebergCatalogHandler.createNamespace calls
    authorizeCreateNamespaceUnderNamespaceOperationOrThrow first): the code location's principal
    holds no NAMESPACE_CREATE (lakehouse/platform/polaris/plan.py), so creating an existing
    namespace answers 403 there."""
    from pyiceberg.exceptions import NamespaceAlreadyExistsError

    if catalog.namespace_exists(namespace):
        return
    with contextlib.suppress(NamespaceAlreadyExistsError):  # made meanwhile by another writer
        catalog.create_namespace(namespace)


def table_identifier(layer: Layer, table: str) -> str:
    return f"{layer.value}.{table}"


def layer_tables(catalog: Catalog, layer: Layer) -> dict[str, Table]:
    """The data tables of ``layer`` by name, sorted; none if the namespace does not exist yet."""
    return namespace_tables(catalog, layer.value)


def namespace_tables(catalog: Catalog, namespace: str) -> dict[str, Table]:
    """The data tables of ``namespace`` by name, sorted; none if it does not exist yet.

    dlt's own bookkeeping tables (``_dlt_*``) are not data and are left out.
    """
    from pyiceberg.exceptions import NoSuchNamespaceError

    try:
        identifiers = catalog.list_tables(namespace)
    except NoSuchNamespaceError:
        return {}
    return {
        identifier[-1]: catalog.load_table(identifier)
        for identifier in sorted(identifiers)
        if not identifier[-1].startswith("_dlt")
    }
