"""Where each table's maintenance policy comes from: Polaris in the cluster, defaults elsewhere.

In the cluster the policy of ``namespace.table`` is what Polaris' ``applicable-policies`` returns
for that table (table over namespace over catalog, the bootstrap's declarations:
``lakehouse/platform/polaris/plan.py``), read with the code location's own catalog credentials
(Polaris 1.7.0 asks for TABLE_READ_PROPERTIES on the table, which every reader and writer role
holds). The embedded profile, and the SQL-catalog variant, have no policy store: defaults.
"""

from __future__ import annotations

from lakehouse.maintenance.policy import (
    DEFAULT_POLICY,
    MaintenancePolicy,
    PolicyFor,
    from_applicable,
)
from lakehouse.platform.polaris.client import PolarisClient
from lakehouse.platform.polaris.settings import TOKEN_PATH_SUFFIX, PolarisConfig
from lakehouse.settings import Profile, Settings


def policy_source(settings: Settings, client: PolarisClient | None = None) -> PolicyFor:
    """A function giving the policy of ``namespace.table`` for the configured profile."""
    if settings.profile is Profile.LOCAL or settings.sql_catalog_uri:
        return lambda _: DEFAULT_POLICY
    rest = settings.rest
    assert rest is not None
    base = rest.uri.rstrip("/")
    client = client or PolarisClient(
        PolarisConfig(
            management_uri=base.removesuffix("/api/catalog") + "/api/management/v1",
            catalog_uri=base,
            token_uri=base + TOKEN_PATH_SUFFIX,
            client_id=rest.client_id,
            client_secret=rest.client_secret,
            scope=rest.scope,
        ),
        echo=lambda _: None,
    )
    prefix = client.catalog_prefix(rest.warehouse)

    def policy_for(table: str) -> MaintenancePolicy:
        *namespace, name = table.split(".")
        return from_applicable(client.applicable_policies(prefix, namespace, name))

    return policy_for
