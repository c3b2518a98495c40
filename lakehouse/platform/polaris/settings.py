"""How the bootstrap reaches Polaris and where the catalog stores its tables, from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from lakehouse.platform.polaris.plan import StorageSpec
from lakehouse.settings import CATALOG_NAME, SettingsError, truthy

DEFAULT_REALM = "POLARIS"
DEFAULT_SCOPE = "PRINCIPAL_ROLE:ALL"
TOKEN_PATH_SUFFIX = "/v1/oauth/tokens"


@dataclass(frozen=True)
class PolarisConfig:
    """How to reach Polaris and who we are (the root principal)."""

    management_uri: str  # http://polaris:8181/api/management/v1
    catalog_uri: str  # http://polaris:8181/api/catalog (Iceberg REST base)
    token_uri: str  # http://polaris:8181/api/catalog/v1/oauth/tokens
    client_id: str
    client_secret: str = field(repr=False)
    realm: str = DEFAULT_REALM
    scope: str = DEFAULT_SCOPE


@dataclass(frozen=True)
class BootstrapSettings:
    polaris: PolarisConfig
    storage: StorageSpec
    catalog: str

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, require_credentials: bool = True
    ) -> BootstrapSettings:
        """Read the variables the bootstrap Job gets; a missing one raises SettingsError naming it.

        ``require_credentials=False`` (print-only) accepts missing root credentials.
        """
        env = os.environ if env is None else env

        def get(name: str, default: str | None = None, *, required: bool = True) -> str:
            value = env.get(name, "").strip() or (default or "")
            if not value and required:
                raise SettingsError(
                    f"{name} is not set but the Polaris bootstrap needs it "
                    f"({_ENV_HELP.get(name, 'see lakehouse/platform/polaris/settings.py')})."
                )
            return value

        management_uri = get("POLARIS_MANAGEMENT_URI").rstrip("/")
        token_uri = get("POLARIS_TOKEN_URI").rstrip("/")
        catalog_uri = env.get("POLARIS_CATALOG_URI", "").strip().rstrip("/")
        if not catalog_uri:
            if not token_uri.endswith(TOKEN_PATH_SUFFIX):
                raise SettingsError(
                    f"POLARIS_CATALOG_URI is not set and cannot be derived from POLARIS_TOKEN_URI="
                    f"{token_uri!r} (expected it to end in {TOKEN_PATH_SUFFIX}); set it, e.g. "
                    "http://polaris:8181/api/catalog."
                )
            catalog_uri = token_uri[: -len(TOKEN_PATH_SUFFIX)]
        s3_endpoint = get("S3_ENDPOINT")
        return cls(
            polaris=PolarisConfig(
                management_uri=management_uri,
                catalog_uri=catalog_uri,
                token_uri=token_uri,
                client_id=get("POLARIS_BOOTSTRAP_CLIENT_ID", required=require_credentials),
                client_secret=get("POLARIS_BOOTSTRAP_CLIENT_SECRET", required=require_credentials),
                realm=get("POLARIS_REALM", DEFAULT_REALM),
                scope=get("POLARIS_SCOPE", DEFAULT_SCOPE),
            ),
            storage=StorageSpec(
                base_location=get("POLARIS_STORAGE_BASE", "s3://lakehouse/warehouse").rstrip("/"),
                endpoint=get("POLARIS_S3_CLIENT_ENDPOINT", s3_endpoint),
                endpoint_internal=s3_endpoint,
                region=get("AWS_REGION", "us-east-1"),
                path_style_access=truthy(env.get("S3_PATH_STYLE_ACCESS", "true")),
            ),
            catalog=get("POLARIS_CATALOG", CATALOG_NAME),
        )


_ENV_HELP = {
    "POLARIS_MANAGEMENT_URI": "e.g. http://polaris:8181/api/management/v1",
    "POLARIS_TOKEN_URI": "e.g. http://polaris:8181/api/catalog/v1/oauth/tokens",
    "POLARIS_BOOTSTRAP_CLIENT_ID": "the root principal's client id, from the Polaris bootstrap Secret",
    "POLARIS_BOOTSTRAP_CLIENT_SECRET": "the root principal's secret, from the Polaris bootstrap Secret",
    "S3_ENDPOINT": "the S3 endpoint Polaris reaches MinIO at, e.g. http://minio:9000",
}
