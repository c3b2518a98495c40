"""Who maintenance acts as: in the cluster, the ``table_maintainer`` principal.

The code location's own principal (``ingestion_writer``) writes ``raw`` and the published
layers only; maintenance must list, read the policies of and commit to the tables of every
namespace. Its Polaris credentials
(``MAINTENANCE_CLIENT_ID`` / ``MAINTENANCE_CLIENT_SECRET``, from the Secret
``polaris-table-maintainer``) replace the catalog client's, and its Trino catalog
(``TRINO_MAINTENANCE_CATALOG``, default ``iceberg_maintenance``) authenticates as the same
principal. Trino lets only the user ``table_maintainer`` (``TRINO_MAINTENANCE_USER``) use that
catalog (``accessControl`` in infrastructure/helm/values/trino.yaml), so maintenance connects as
that user. The embedded profile and the SQL-catalog variant have no principals: unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace

from lakehouse.settings import Profile, Settings, SettingsError

DEFAULT_TRINO_CATALOG = "iceberg_maintenance"
DEFAULT_TRINO_USER = "table_maintainer"


def maintainer_settings(settings: Settings, env: Mapping[str, str] | None = None) -> Settings:
    """``settings`` acting as the table maintainer (read at run time, from ``env``)."""
    env = os.environ if env is None else env
    if settings.profile is Profile.LOCAL or settings.sql_catalog_uri:
        return settings
    missing = [n for n in ("MAINTENANCE_CLIENT_ID", "MAINTENANCE_CLIENT_SECRET") if not env.get(n)]
    if missing:
        raise SettingsError(
            f"{' and '.join(missing)} not set: table maintenance in the cluster acts as the "
            "table_maintainer principal (Secret polaris-table-maintainer, written by the Polaris "
            "bootstrap; infrastructure/helm/values/dagster.yaml maps it)."
        )
    assert settings.rest is not None and settings.trino is not None
    rest = replace(
        settings.rest,
        client_id=env["MAINTENANCE_CLIENT_ID"].strip(),
        client_secret=env["MAINTENANCE_CLIENT_SECRET"].strip(),
    )
    catalog = env.get("TRINO_MAINTENANCE_CATALOG", "").strip() or DEFAULT_TRINO_CATALOG
    user = env.get("TRINO_MAINTENANCE_USER", "").strip() or DEFAULT_TRINO_USER
    trino = replace(settings.trino, catalog=catalog, user=user)
    return replace(settings, rest=rest, trino=trino)
