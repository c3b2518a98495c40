"""The desired state of the catalog: principals, roles and grants per workload, and storage."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from lakehouse.layers import (
    HEALTH_NAMESPACE,
    LAYERS,
    ML_NAMESPACE,
    PUBLISH_NAMESPACE,
    PUBLISHED_LAYERS,
    Layer,
    staging_namespace,
)
from lakehouse.maintenance.policy import (
    DATA_COMPACTION,
    DEFAULT_POLICY,
    ORPHAN_FILE_REMOVAL,
    SNAPSHOT_EXPIRY,
    MaintenancePolicy,
    policy_content,
)
from lakehouse.settings import CATALOG_NAME

MANAGED_BY = "lakehouse-polaris-bootstrap"  # label and property of what the bootstrap made
# Polaris keeps every policy in a namespace; the catalog-wide maintenance policies live here.
POLICY_NAMESPACE = "maintenance"
# gold keeps a month of builds to travel back to (its namespace policy overrides the catalog's).
GOLD_POLICY = MaintenancePolicy(max_snapshot_age=timedelta(days=30), min_snapshots_to_keep=30)
# --- privileges (NamespacePrivilege / CatalogPrivilege enums of the management spec) -----------
# A namespace grant also covers the tables and views inside the namespace.
WRITER_PRIVILEGES: tuple[str, ...] = (
    "NAMESPACE_FULL_METADATA",  # list/create/drop nested namespaces, read/write properties
    "TABLE_FULL_METADATA",  # create, drop, rename, list tables and evolve their metadata
    "VIEW_FULL_METADATA",  # dbt materializes bronze as views on Trino
    "TABLE_READ_DATA",
    "TABLE_WRITE_DATA",
)
# Maintenance commits new snapshots (compaction, expiry) but creates and drops nothing; it reads
# the policies applicable to a namespace's tables (TABLE_READ_PROPERTIES in Polaris 1.7.0).
MAINTAINER_PRIVILEGES: tuple[str, ...] = (
    "NAMESPACE_READ_PROPERTIES",
    "TABLE_LIST",
    "TABLE_READ_PROPERTIES",
    "TABLE_WRITE_PROPERTIES",
    "TABLE_READ_DATA",
    "TABLE_WRITE_DATA",
)
READER_PRIVILEGES: tuple[str, ...] = (
    "NAMESPACE_LIST",
    "NAMESPACE_READ_PROPERTIES",
    "TABLE_LIST",
    "TABLE_READ_PROPERTIES",
    "TABLE_READ_DATA",
    "VIEW_LIST",
    "VIEW_READ_PROPERTIES",
)


@dataclass(frozen=True)
class GrantSpec:
    """One privilege on the catalog (``namespace=()``) or on one namespace."""

    privilege: str
    namespace: tuple[str, ...] = ()

    def body(self) -> dict[str, Any]:
        """The ``GrantResource`` (CatalogGrant / NamespaceGrant) of the management API."""
        if not self.namespace:
            return {"type": "catalog", "privilege": self.privilege}
        return {"type": "namespace", "namespace": list(self.namespace), "privilege": self.privilege}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> GrantSpec | None:
        """Parse a listed grant; table/view/policy grants are not managed here (``None``)."""
        kind = body.get("type")
        if kind == "catalog":
            return cls(privilege=str(body.get("privilege")))
        if kind == "namespace":
            return cls(
                privilege=str(body.get("privilege")), namespace=tuple(body.get("namespace", ()))
            )
        return None

    def __str__(self) -> str:
        where = ".".join(self.namespace) if self.namespace else "<catalog>"
        return f"{self.privilege} on {where}"


@dataclass(frozen=True)
class CatalogRoleSpec:
    name: str
    description: str
    grants: tuple[GrantSpec, ...]


@dataclass(frozen=True)
class PrincipalSpec:
    """A workload identity; its principal role has the same name."""

    name: str
    description: str
    catalog_roles: tuple[str, ...]

    @property
    def principal_role(self) -> str:
        return self.name

    @property
    def secret_name(self) -> str:
        # Kubernetes object names are DNS-1123 subdomains: no underscores.
        return f"polaris-{self.name.replace('_', '-')}"


@dataclass(frozen=True)
class PolicySpec:
    """A Polaris maintenance policy, stored in ``namespace`` and attached to ``target``.

    ``target`` is the attachment's namespace path: ``()`` for the whole catalog.
    """

    name: str
    policy_type: str
    namespace: str
    description: str
    content: str  # JSON, as the policy API carries it
    target: tuple[str, ...] = ()

    def create_body(self) -> dict[str, Any]:
        """``CreatePolicyRequest`` of the Polaris policy API."""
        return {
            "name": self.name,
            "type": self.policy_type,
            "description": self.description,
            "content": self.content,
        }

    def attachment(self) -> dict[str, Any]:
        """``PolicyAttachmentTarget``: the catalog, or a namespace."""
        if not self.target:
            return {"type": "catalog"}
        return {"type": "namespace", "path": list(self.target)}

    def __str__(self) -> str:
        where = ".".join(self.target) if self.target else "<catalog>"
        return f"policy {self.namespace}.{self.name} ({self.policy_type}) on {where}"


def maintenance_policies() -> tuple[PolicySpec, ...]:
    """The project's defaults on the catalog; gold's longer snapshot retention on its namespace."""
    kinds = {
        SNAPSHOT_EXPIRY: "snapshot_expiry",
        DATA_COMPACTION: "data_compaction",
        ORPHAN_FILE_REMOVAL: "orphan_file_removal",
    }
    catalog_wide = tuple(
        PolicySpec(
            name=name,
            policy_type=kind,
            namespace=POLICY_NAMESPACE,
            description=f"lakehouse default {kind.removeprefix('system.')} (maintenance job)",
            content=json.dumps(policy_content(kind, DEFAULT_POLICY), sort_keys=True),
        )
        for kind, name in kinds.items()
    )
    gold = PolicySpec(
        name="gold_snapshot_expiry",
        policy_type=SNAPSHOT_EXPIRY,
        namespace=Layer.GOLD.value,
        description="gold keeps a month of builds for time travel",
        content=json.dumps(policy_content(SNAPSHOT_EXPIRY, GOLD_POLICY), sort_keys=True),
        target=(Layer.GOLD.value,),
    )
    return (*catalog_wide, gold)


@dataclass(frozen=True)
class Plan:
    catalog: str
    namespaces: tuple[str, ...]
    catalog_roles: tuple[CatalogRoleSpec, ...]
    principals: tuple[PrincipalSpec, ...]
    policies: tuple[PolicySpec, ...] = ()


def _writer(namespace: str) -> CatalogRoleSpec:
    return CatalogRoleSpec(
        name=f"{namespace}_writer",
        description=f"create, change, drop and write tables/views in namespace {namespace}",
        grants=tuple(GrantSpec(p, (namespace,)) for p in WRITER_PRIVILEGES),
    )


def _reader(namespace: str) -> CatalogRoleSpec:
    return CatalogRoleSpec(
        name=f"{namespace}_reader",
        description=f"list and read tables/views in namespace {namespace}",
        grants=tuple(GrantSpec(p, (namespace,)) for p in READER_PRIVILEGES),
    )


def _maintainer(namespace: str) -> CatalogRoleSpec:
    return CatalogRoleSpec(
        name=f"{namespace}_maintainer",
        description=f"compact, expire and sweep the tables of namespace {namespace}",
        grants=tuple(GrantSpec(p, (namespace,)) for p in MAINTAINER_PRIVILEGES),
    )


def namespaces() -> tuple[str, ...]:
    """The layers, the staging namespaces dbt builds published layers in, the registry's, the
    ml assets' (churn scores) and the data-health figures'."""
    staging = (staging_namespace(layer) for layer in PUBLISHED_LAYERS)
    return (
        *(layer.value for layer in LAYERS),
        *staging,
        PUBLISH_NAMESPACE,
        ML_NAMESPACE,
        HEALTH_NAMESPACE,
    )


def default_plan(catalog: str = CATALOG_NAME) -> Plan:
    """The catalog, namespaces, roles and grants of the lakehouse (least privilege per workload)."""
    browser = CatalogRoleSpec(
        name="catalog_browser",
        description="list the top-level namespaces (Trino SHOW SCHEMAS, dbt, dlt)",
        grants=(GrantSpec("NAMESPACE_LIST"),),
    )
    creator = CatalogRoleSpec(
        name="namespace_creator",
        description="create top-level namespaces (dbt creates its schemas if missing)",
        grants=(GrantSpec("NAMESPACE_CREATE"),),
    )
    roles = (
        browser,
        creator,
        *(_writer(namespace) for namespace in namespaces()),
        *(_reader(namespace) for namespace in namespaces()),
        *(_maintainer(namespace) for namespace in namespaces()),
    )
    # Write-audit-publish: dbt writes bronze and the staging namespaces; only the code location
    # (after the build's tests passed) writes the published layers and the registry, and readers
    # never see staging.
    staging = [staging_namespace(layer) for layer in PUBLISHED_LAYERS]
    published = [layer.value for layer in PUBLISHED_LAYERS]
    principals = (
        PrincipalSpec(
            name="ingestion_writer",
            description=(
                "the code location: dlt lands source data in raw; the publish step copies an "
                "audited build from staging into silver/gold and records it in publish.builds; "
                "the ml assets read gold and write their scores in ml; the data-health asset "
                "writes its figures in health"
            ),
            catalog_roles=(
                "catalog_browser",
                "raw_writer",
                *(f"{namespace}_reader" for namespace in staging),
                *(f"{namespace}_writer" for namespace in (*published, PUBLISH_NAMESPACE)),
                f"{ML_NAMESPACE}_writer",
                f"{HEALTH_NAMESPACE}_writer",
            ),
        ),
        PrincipalSpec(
            name="dbt_transformer",
            description="dbt (through Trino): reads raw, builds bronze and silver/gold staging",
            catalog_roles=(
                "catalog_browser",
                "namespace_creator",
                "raw_reader",
                "bronze_writer",
                *(f"{namespace}_writer" for namespace in staging),
            ),
        ),
        PrincipalSpec(
            name="trino_reader",
            description="read-only queries over every layer",
            catalog_roles=(
                "catalog_browser",
                *(f"{layer.value}_reader" for layer in LAYERS),
                f"{PUBLISH_NAMESPACE}_reader",
                f"{ML_NAMESPACE}_reader",
                f"{HEALTH_NAMESPACE}_reader",
            ),
        ),
        PrincipalSpec(
            name="table_maintainer",
            description="nightly table maintenance (Trino procedures, Polaris policies)",
            catalog_roles=(
                "catalog_browser",
                *(f"{namespace}_maintainer" for namespace in namespaces()),
            ),
        ),
    )
    return Plan(
        catalog=catalog,
        namespaces=(*namespaces(), POLICY_NAMESPACE),
        catalog_roles=roles,
        principals=principals,
        policies=maintenance_policies(),
    )


@dataclass(frozen=True)
class StorageSpec:
    """Where the catalog keeps its tables and how Polaris and clients reach the S3 store."""

    base_location: str
    endpoint: str  # told to clients
    endpoint_internal: str  # used by the Polaris server
    region: str
    path_style_access: bool = True

    def storage_config_info(self) -> dict[str, Any]:
        """``AwsStorageConfigInfo`` for an S3-compatible store without STS (no vending)."""
        return {
            "storageType": "S3",
            "allowedLocations": [self.base_location],
            "endpoint": self.endpoint,
            "endpointInternal": self.endpoint_internal,
            "pathStyleAccess": self.path_style_access,
            "region": self.region,
            "stsUnavailable": True,
        }

    def catalog_properties(self) -> dict[str, str]:
        return {"default-base-location": self.base_location}
