"""The plan, applied: one step per kind of entity, each creating only what is missing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lakehouse.platform.polaris.client import Credentials, Echo, PolarisClient, PolarisError
from lakehouse.platform.polaris.plan import (
    MANAGED_BY,
    GrantSpec,
    Plan,
    PrincipalSpec,
    StorageSpec,
    default_plan,
)
from lakehouse.platform.secret_store import SecretStore


@dataclass
class BootstrapReport:
    changes: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


class _Run:
    def __init__(self, echo: Echo) -> None:
        self.echo = echo
        self.report = BootstrapReport()

    def created(self, what: str) -> None:
        self.report.changes.append(what)
        self.echo(f"  + {what}")

    def kept(self, what: str) -> None:
        self.report.unchanged.append(what)
        self.echo(f"  = {what}")


def bootstrap(
    client: PolarisClient,
    storage: StorageSpec,
    secrets: SecretStore,
    plan: Plan | None = None,
    *,
    echo: Echo = print,
) -> BootstrapReport:
    """Make Polaris match ``plan``; create only what is missing. Returns what changed."""
    plan = plan or default_plan()
    run = _Run(echo)
    # Read the Secrets first: a store we cannot reach fails the run before Polaris changes.
    echo("polaris: checking the principals' Secrets")
    has_secret = {p.name: _holds_credentials(secrets, p.secret_name) for p in plan.principals}
    echo(f"polaris: authenticating at {client.config.token_uri} (realm {client.config.realm})")
    client.authenticate()
    echo(f"polaris: catalog {plan.catalog}")
    _ensure_catalog(client, plan.catalog, storage, run)
    echo("polaris: namespaces")
    _ensure_namespaces(client, plan, run)
    echo("polaris: principal roles")
    _ensure_principal_roles(client, plan, run)
    echo("polaris: principals and their credentials")
    existing = set(client.list_principals())
    for principal in plan.principals:
        _ensure_principal(
            client,
            principal,
            exists=principal.name in existing,
            has_secret=has_secret[principal.name],
            secrets=secrets,
            run=run,
        )
    echo("polaris: principal role assignments")
    _ensure_principal_role_assignments(client, plan, run)
    echo("polaris: catalog roles and grants")
    _ensure_catalog_roles(client, plan, run)
    _ensure_grants(client, plan, run)
    echo("polaris: catalog roles of each principal role")
    _ensure_catalog_role_assignments(client, plan, run)
    echo("polaris: maintenance policies (stored and served by Polaris, run by the maintenance job)")
    _ensure_policies(client, plan, run)
    summary = f"{len(run.report.changes)} change(s)" if run.report.changed else "nothing to change"
    echo(f"polaris: done, {summary}")
    return run.report


def _holds_credentials(secrets: SecretStore, name: str) -> bool:
    data = secrets.read(name) or {}
    return bool(data.get("client-id") and data.get("client-secret"))


def _ensure_namespaces(client: PolarisClient, plan: Plan, run: _Run) -> None:
    prefix = client.catalog_prefix(plan.catalog)
    existing = set(client.list_namespaces(prefix))
    for name in plan.namespaces:
        if (name,) in existing:
            run.kept(f"namespace {name}")
        elif client.create_namespace(prefix, [name]):
            run.created(f"namespace {name}")
        else:
            run.kept(f"namespace {name} (created concurrently)")


def _ensure_principal_roles(client: PolarisClient, plan: Plan, run: _Run) -> None:
    existing = set(client.list_principal_roles())
    for principal in plan.principals:
        label = f"principal role {principal.principal_role}"
        if principal.principal_role in existing:
            run.kept(label)
        elif client.create_principal_role(principal.principal_role, _props(principal.description)):
            run.created(label)
        else:
            run.kept(label)


def _ensure_principal_role_assignments(client: PolarisClient, plan: Plan, run: _Run) -> None:
    for principal in plan.principals:
        assigned = set(client.list_principal_roles_assigned(principal.name))
        label = f"principal {principal.name} has principal role {principal.principal_role}"
        if principal.principal_role in assigned:
            run.kept(label)
        else:
            client.assign_principal_role(principal.name, principal.principal_role)
            run.created(label)


def _ensure_catalog_roles(client: PolarisClient, plan: Plan, run: _Run) -> None:
    existing = set(client.list_catalog_roles(plan.catalog))
    for role in plan.catalog_roles:
        label = f"catalog role {role.name}"
        if role.name in existing:
            run.kept(label)
        elif client.create_catalog_role(plan.catalog, role.name, _props(role.description)):
            run.created(label)
        else:
            run.kept(label)


def _ensure_grants(client: PolarisClient, plan: Plan, run: _Run) -> None:
    for role in plan.catalog_roles:
        held = {
            grant
            for grant in map(GrantSpec.from_body, client.list_grants(plan.catalog, role.name))
            if grant is not None
        }
        for grant in role.grants:
            label = f"catalog role {role.name}: {grant}"
            if grant in held:
                run.kept(label)
            else:
                client.add_grant(plan.catalog, role.name, grant.body())
                run.created(label)


def _ensure_catalog_role_assignments(client: PolarisClient, plan: Plan, run: _Run) -> None:
    for principal in plan.principals:
        role = principal.principal_role
        mapped = set(client.list_catalog_roles_for_principal_role(role, plan.catalog))
        for catalog_role in principal.catalog_roles:
            label = f"principal role {role} has catalog role {catalog_role}"
            if catalog_role in mapped:
                run.kept(label)
            else:
                client.assign_catalog_role_to_principal_role(role, plan.catalog, catalog_role)
                run.created(label)


def _ensure_policies(client: PolarisClient, plan: Plan, run: _Run) -> None:
    prefix = client.catalog_prefix(plan.catalog)
    for policy in plan.policies:
        label = f"policy {policy.namespace}.{policy.name} ({policy.policy_type})"
        current = client.load_policy(prefix, policy.namespace, policy.name)
        if current is None and client.create_policy(prefix, policy.namespace, policy.create_body()):
            run.created(label)
        else:
            current = current or client.load_policy(prefix, policy.namespace, policy.name)
            if current is None:
                raise PolarisError(f"{label} was reported as existing (409) but cannot be read")
            if _same_json(current.get("content"), policy.content):
                run.kept(label)
            else:
                update = {
                    "description": policy.description,
                    "content": policy.content,
                    "current-policy-version": current["version"],
                }
                client.update_policy(prefix, policy.namespace, policy.name, update)
                run.created(f"{label} updated")
        attached = client.applicable_policies(prefix, policy.target)
        if any(
            p.get("name") == policy.name
            and tuple(p.get("namespace") or ()) == (policy.namespace,)
            and not p.get("inherited")
            for p in attached
        ):
            run.kept(str(policy))
        else:
            client.attach_policy(prefix, policy.namespace, policy.name, policy.attachment())
            run.created(str(policy))


def _same_json(left: str | None, right: str) -> bool:
    try:
        return json.loads(left or "null") == json.loads(right)
    except ValueError:
        return False


def _props(description: str) -> dict[str, str]:
    return {"purpose": description, "managed-by": MANAGED_BY}


def _ensure_catalog(client: PolarisClient, name: str, storage: StorageSpec, run: _Run) -> None:
    desired_storage = storage.storage_config_info()
    desired_props = storage.catalog_properties()
    current = client.get_catalog(name)
    if current is None:
        catalog = {
            "type": "INTERNAL",
            "name": name,
            "properties": desired_props,
            "storageConfigInfo": desired_storage,
        }
        if client.create_catalog(catalog):
            run.created(f"catalog {name} (S3 {storage.base_location}, credential vending off)")
            return
        current = client.get_catalog(name)
        if current is None:
            raise PolarisError(f"catalog {name} was reported as existing (409) but cannot be read")
    drift = _catalog_drift(current, desired_storage, desired_props)
    if not drift:
        run.kept(f"catalog {name}")
        return
    update = {
        "currentEntityVersion": current.get("entityVersion"),
        "properties": {**(current.get("properties") or {}), **desired_props},
        "storageConfigInfo": {**(current.get("storageConfigInfo") or {}), **desired_storage},
    }
    client.update_catalog(name, update)
    run.created(f"catalog {name} updated ({', '.join(drift)})")


def _catalog_drift(
    current: Mapping[str, Any], storage: Mapping[str, Any], props: Mapping[str, str]
) -> list[str]:
    """Names of the managed settings whose current value differs from the desired one."""

    def norm(value: Any) -> Any:
        return value.rstrip("/") if isinstance(value, str) else value

    drift = []
    actual_storage = current.get("storageConfigInfo") or {}
    for key, want in storage.items():
        have = actual_storage.get(key)
        if key == "allowedLocations":
            if not {norm(x) for x in want} <= {norm(x) for x in have or []}:
                drift.append(key)
        elif norm(have) != norm(want):
            drift.append(key)
    actual_props = current.get("properties") or {}
    drift.extend(key for key, want in props.items() if norm(actual_props.get(key)) != norm(want))
    return drift


def _ensure_principal(
    client: PolarisClient,
    principal: PrincipalSpec,
    *,
    exists: bool,
    has_secret: bool,
    secrets: SecretStore,
    run: _Run,
) -> None:
    where = secrets.describe(principal.secret_name)
    if not exists:
        credentials = client.create_principal(principal.name, _props(principal.description))
        if credentials is not None:
            run.created(f"principal {principal.name}")
            _write_secret(secrets, principal, credentials, run)
            return
        # Created concurrently (409): fall through to the Secret check.
    if has_secret:
        run.kept(f"principal {principal.name} ({where} present)")
        return
    # The secret is shown only at creation: without it the workload cannot log in. Reset (root's
    # operation; rotate is self-only in Polaris 1.7.0 and answers 403 to root).
    credentials = client.reset_credentials(principal.name)
    run.created(f"principal {principal.name}: credentials reset ({where} was missing)")
    _write_secret(secrets, principal, credentials, run)


def _write_secret(
    secrets: SecretStore, principal: PrincipalSpec, credentials: Credentials, run: _Run
) -> None:
    try:
        secrets.write(
            principal.secret_name,
            credentials.secret_data(),
            {"app.kubernetes.io/managed-by": MANAGED_BY},
        )
    except Exception as exc:
        raise PolarisError(
            f"principal {principal.name} has new credentials but writing "
            f"{secrets.describe(principal.secret_name)} failed: {exc}. Fix that and re-run: the "
            "bootstrap resets the credentials of a principal whose Secret is missing."
        ) from exc
    run.created(f"{secrets.describe(principal.secret_name)} written")
