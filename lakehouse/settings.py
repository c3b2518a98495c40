"""Settings read from the environment at run time (never at import).

One switch, ``LAKEHOUSE_PROFILE``, picks the deployment:

* ``local`` (default): a pyiceberg SQL catalog (SQLite) over a warehouse folder, DuckDB as engine.
* ``k8s``: the Polaris REST catalog (OAuth2 client credentials) over S3 (MinIO), Trino as engine.

  Variant: with ``ICEBERG_SQL_CATALOG_URI`` set (a SQLAlchemy URL, e.g. ``postgresql+psycopg2://...``
  or ``sqlite:///...``) the catalog is a pyiceberg SQL catalog over the same S3 warehouse instead of
  REST, and the REST variables are not needed. dlt writes through it on S3 stores whose REST
  catalog rejects dlt's files (SeaweedFS); the integration tier runs this way.

Secrets (the catalog client secret, S3 keys) only ever come from the environment, which the
cluster fills from Kubernetes Secrets and a laptop from a git-ignored ``.env`` file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from lakehouse.paths import DEFAULT_DATA_DIR

CATALOG_NAME = "lakehouse"
DEFAULT_PUBLISH_MEMORY_LIMIT = "256MB"


class Profile(StrEnum):
    LOCAL = "local"
    K8S = "k8s"

    @property
    def dbt_target(self) -> str:
        """The dbt target of the profile: the ONE source of it (manifest and runs alike)."""
        return "trino" if self is Profile.K8S else "local"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Profile:
        """Only the ``LAKEHOUSE_PROFILE`` switch: enough to load the code location's graph."""
        env = os.environ if env is None else env
        raw_profile = env.get("LAKEHOUSE_PROFILE", cls.LOCAL.value).strip().lower()
        try:
            return cls(raw_profile)
        except ValueError:
            raise SettingsError(
                f"LAKEHOUSE_PROFILE={raw_profile!r} is not a profile; use 'local' (embedded, "
                "the default) or 'k8s' (Polaris + MinIO + Trino)."
            ) from None


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says which variable to set."""


@dataclass(frozen=True)
class RestCatalogSettings:
    """Iceberg REST catalog (Polaris) and the S3 store behind it."""

    uri: str
    warehouse: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str
    s3_endpoint: str
    s3_region: str
    s3_access_key_id: str
    s3_secret_access_key: str = field(repr=False)
    s3_path_style_access: bool
    warehouse_uri: str  # where dlt writes table data: s3://<bucket>/<prefix>


@dataclass(frozen=True)
class TrinoSettings:
    host: str
    port: int
    user: str
    catalog: str


@dataclass(frozen=True)
class Settings:
    profile: Profile
    data_dir: Path
    rest: RestCatalogSettings | None = None
    trino: TrinoSettings | None = None
    # k8s only: a pyiceberg SQL catalog (SQLAlchemy URL) over the S3 warehouse instead of REST.
    sql_catalog_uri: str | None = None
    # DuckDB's memory cap in the publish step; beyond it DuckDB spills to disk (its own default
    # is 80% of the RAM; dbt's cap, LAKEHOUSE_DUCKDB_MEMORY_LIMIT, is read by profiles.yml). The
    # step only reads the build (sorting a table's first publish by key), beside the Parquet
    # writer in the same process, so its cap is smaller than dbt's and its sort spills instead.
    # Measured at scale 48, first date: the publish peaked 720 MB lower under 256MB than under
    # 1GB (1,251 against 1,974 MB), in 16.3 against 15.7 s.
    publish_memory_limit: str = DEFAULT_PUBLISH_MEMORY_LIMIT

    # --- embedded default: everything under one git-ignored folder --------------------------
    @property
    def warehouse_dir(self) -> Path:
        return self.data_dir / "warehouse"

    @property
    def catalog_db(self) -> Path:
        return self.data_dir / "catalog.db"

    @property
    def duckdb_path(self) -> Path:
        return self.data_dir / "lakehouse.duckdb"

    @property
    def dlt_pipelines_dir(self) -> Path:
        return self.data_dir / "dlt"

    # --- both profiles ------------------------------------------------------------------------
    @property
    def warehouse_uri(self) -> str:
        """Root under which dlt writes ``<dataset>/<table>`` (a file:// or s3:// URL)."""
        if self.profile is Profile.K8S:
            return _require(self.rest).warehouse_uri
        return self.warehouse_dir.as_uri()

    @property
    def dbt_target(self) -> str:
        return self.profile.dbt_target

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        profile = Profile.from_env(env)
        data_dir = Path(env.get("LAKEHOUSE_DATA_DIR") or DEFAULT_DATA_DIR).expanduser().resolve()
        if profile is Profile.LOCAL:
            publish = env.get("LAKEHOUSE_PUBLISH_MEMORY_LIMIT", "").strip()
            return cls(
                profile=profile,
                data_dir=data_dir,
                publish_memory_limit=publish or DEFAULT_PUBLISH_MEMORY_LIMIT,
            )
        sql_catalog_uri = env.get("ICEBERG_SQL_CATALOG_URI", "").strip() or None
        # With a SQL catalog the REST endpoint and its OAuth2 client are not used.
        required = ["S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
        if not sql_catalog_uri:
            required = ["ICEBERG_REST_URI", "ICEBERG_REST_CLIENT_ID", "ICEBERG_REST_CLIENT_SECRET"]
            required += ["S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
        missing = [name for name in required if not env.get(name, "").strip()]
        if missing:
            verb, pronoun = ("is", "it") if len(missing) == 1 else ("are", "them")
            raise SettingsError(
                f"{', '.join(missing)} {verb} not set but LAKEHOUSE_PROFILE=k8s needs {pronoun}. "
                "In the cluster the code location gets them "
                "from the namespace's Secrets (lakehouse-s3, polaris-<principal>); on a laptop "
                "put them in .env (see .env.example and infrastructure/.secrets/)."
            )
        return cls(
            profile=profile,
            data_dir=data_dir,
            sql_catalog_uri=sql_catalog_uri,
            rest=RestCatalogSettings(
                uri=_get(env, "ICEBERG_REST_URI"),
                warehouse=env.get("ICEBERG_REST_WAREHOUSE", CATALOG_NAME),
                client_id=_get(env, "ICEBERG_REST_CLIENT_ID"),
                client_secret=_get(env, "ICEBERG_REST_CLIENT_SECRET"),
                scope=env.get("ICEBERG_REST_SCOPE", "PRINCIPAL_ROLE:ALL"),
                s3_endpoint=_get(env, "S3_ENDPOINT"),
                s3_region=env.get("AWS_REGION", "us-east-1"),
                s3_access_key_id=_get(env, "AWS_ACCESS_KEY_ID"),
                s3_secret_access_key=_get(env, "AWS_SECRET_ACCESS_KEY"),
                s3_path_style_access=truthy(env.get("S3_PATH_STYLE_ACCESS", "true")),
                warehouse_uri=env.get("LAKEHOUSE_WAREHOUSE_URI", "s3://lakehouse/warehouse"),
            ),
            trino=TrinoSettings(
                host=env.get("TRINO_HOST", "trino"),
                port=int(env.get("TRINO_PORT", "8080")),
                user=env.get("TRINO_USER", "dbt"),
                catalog=env.get("TRINO_CATALOG", "iceberg"),
            ),
        )


def _get(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def truthy(value: str) -> bool:
    """The one reading of a yes/no environment variable: 1, true, yes, on (any case)."""
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _require(value: RestCatalogSettings | None) -> RestCatalogSettings:
    if value is None:
        raise SettingsError("this setting exists only for LAKEHOUSE_PROFILE=k8s")
    return value
