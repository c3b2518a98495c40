"""Idempotent Polaris bootstrap through the management REST API.

Run as ``python -m lakehouse.platform.polaris bootstrap`` (a Kubernetes Job after the Polaris
chart, or ``make up``), or import :func:`bootstrap`. With the root principal's credentials it
makes the catalog service match :func:`default_plan`:

* the INTERNAL catalog ``lakehouse`` on S3 (MinIO), with credential vending OFF;
* the namespaces ``raw``, ``bronze``, ``silver``, ``gold``, the staging namespaces dbt builds
  silver/gold in, ``publish`` (the build registry) and ``maintenance`` (Iceberg REST API, as root);
* the maintenance policies (``system.snapshot-expiry``, ``system.data-compaction``,
  ``system.orphan-file-removal``) on the catalog, stored in ``maintenance``, and gold's longer
  snapshot retention on ``gold`` (Polaris policy API, ``spec/polaris-catalog-apis/policy-apis.yaml``
  of apache/polaris 1.7.0); Polaris stores and serves them, the maintenance job applies them;
* one principal per workload (``ingestion_writer``, ``dbt_transformer``, ``trino_reader``,
  ``table_maintainer``), a
  principal role of the same name assigned to it, and catalog roles per layer and access level
  (``raw_writer``, ``raw_reader``, ...) holding namespace grants;
* a Kubernetes Secret ``polaris-<principal>`` (keys ``client-id``, ``client-secret``) per principal.

Every step reads first and only creates what is missing, so a second run sends no request that
changes anything. Polaris returns a principal's secret only when it is created, rotated or reset:
if the principal exists but its Secret does not, its credentials are RESET
(``POST /principals/{name}/reset``) and the Secret is written. Not rotated: in Polaris 1.7.0
``rotate`` is a self-only operation that root cannot perform on another principal (403;
apache/polaris ``PolarisAdminService.isSelfOperation``, ``PolarisAuthorizerImpl``), while ``reset``
is root's (it needs the feature flag ``ENABLE_CREDENTIAL_RESET``, on by default).

Storage settings (names checked against ``spec/polaris-management-service.yml``,
``AwsStorageConfigInfo``): ``storageType: S3``, ``allowedLocations``, ``endpoint`` (what clients
are told), ``endpointInternal`` (what the Polaris server itself uses), ``pathStyleAccess: true``
(MinIO serves buckets by path), ``region``, and ``stsUnavailable: true``: MinIO has no STS
``AssumeRole``, so Polaris must not try to vend credentials. Every client (dlt, pyiceberg, Trino)
brings its own S3 keys, which is what ``lakehouse.catalog.catalog_properties`` configures. No
``roleArn`` is sent: it only makes sense with STS.

Modules, one concern each: :mod:`.settings` (the environment), :mod:`.plan` (the desired state),
:mod:`.client` (the REST client), :mod:`.bootstrap` (the plan applied, step by step), :mod:`.cli`
(the command line). Principal credentials go to a
:class:`lakehouse.platform.secret_store.SecretStore`.
"""

from lakehouse.platform.polaris.bootstrap import BootstrapReport, bootstrap
from lakehouse.platform.polaris.cli import describe_plan, main
from lakehouse.platform.polaris.client import (
    Credentials,
    PolarisClient,
    PolarisError,
    PolarisUnavailableError,
)
from lakehouse.platform.polaris.plan import (
    CatalogRoleSpec,
    GrantSpec,
    Plan,
    PrincipalSpec,
    StorageSpec,
    default_plan,
)
from lakehouse.platform.polaris.settings import BootstrapSettings, PolarisConfig

__all__ = [
    "BootstrapReport",
    "BootstrapSettings",
    "CatalogRoleSpec",
    "Credentials",
    "GrantSpec",
    "Plan",
    "PolarisClient",
    "PolarisConfig",
    "PolarisError",
    "PolarisUnavailableError",
    "PrincipalSpec",
    "StorageSpec",
    "bootstrap",
    "default_plan",
    "describe_plan",
    "main",
]
