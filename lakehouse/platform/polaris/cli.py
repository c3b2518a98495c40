"""``python -m lakehouse.platform.polaris bootstrap [--print-only]``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence

from lakehouse.platform.polaris.bootstrap import bootstrap
from lakehouse.platform.polaris.client import DEFAULT_WAIT_TIMEOUT, PolarisClient, PolarisError
from lakehouse.platform.polaris.plan import Plan, default_plan
from lakehouse.platform.polaris.settings import BootstrapSettings
from lakehouse.platform.secret_store import KubernetesSecretStore, SecretStore, SecretStoreError
from lakehouse.settings import SettingsError

DEFAULT_SECRETS_NAMESPACE = "lakehouse"


def describe_plan(settings: BootstrapSettings, plan: Plan, secrets_namespace: str) -> str:
    """The desired state, for ``--print-only`` (no Polaris, no cluster needed)."""
    lines = [
        f"Polaris {settings.polaris.management_uri} (realm {settings.polaris.realm}); "
        f"token from {settings.polaris.token_uri}",
        f"catalog {plan.catalog} (INTERNAL)",
        f"  properties: {json.dumps(settings.storage.catalog_properties(), sort_keys=True)}",
        f"  storageConfigInfo: {json.dumps(settings.storage.storage_config_info(), sort_keys=True)}",
        f"namespaces (Iceberg REST {settings.polaris.catalog_uri}): {', '.join(plan.namespaces)}",
        "catalog roles:",
    ]
    for role in plan.catalog_roles:
        lines.append(f"  {role.name}: {role.description}")
        lines.extend(f"    grant {grant}" for grant in role.grants)
    lines.append("principals (principal role of the same name):")
    for principal in plan.principals:
        lines.append(f"  {principal.name}: {principal.description}")
        lines.append(f"    catalog roles: {', '.join(principal.catalog_roles)}")
        lines.append(
            f"    credentials -> Secret {secrets_namespace}/{principal.secret_name} "
            "(keys client-id, client-secret)"
        )
    lines.append(
        "Each item is created only if missing; a principal whose Secret is missing gets its "
        "credentials reset (POST /principals/{name}/reset, as root)."
    )
    return "\n".join(lines)


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    secrets: SecretStore | None = None,
) -> int:
    """The CLI; ``env`` and ``secrets`` (default: Kubernetes Secrets) are for tests."""
    parser = argparse.ArgumentParser(
        prog="python -m lakehouse.platform.polaris",
        description="Idempotently bootstrap the Polaris catalog, principals, roles and grants.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    boot = sub.add_parser("bootstrap", help="create whatever is missing (safe to re-run)")
    boot.add_argument(
        "--secrets-namespace",
        default=(
            (env or os.environ).get("POLARIS_SECRETS_NAMESPACE")
            or (env or os.environ).get("POD_NAMESPACE")
            or DEFAULT_SECRETS_NAMESPACE
        ),
        help="Kubernetes namespace of the polaris-<principal> Secrets (default: "
        "$POLARIS_SECRETS_NAMESPACE, else the Job's $POD_NAMESPACE, else %(default)s)",
    )
    boot.add_argument(
        "--print-only",
        "--dry-run",
        dest="print_only",
        action="store_true",
        help="print the desired state and exit; contacts neither Polaris nor Kubernetes",
    )
    boot.add_argument(
        "--wait-timeout",
        type=float,
        default=DEFAULT_WAIT_TIMEOUT,
        help="seconds to wait for Polaris to issue a token (default: %(default)s)",
    )
    args = parser.parse_args(argv)

    try:
        settings = BootstrapSettings.from_env(env, require_credentials=not args.print_only)
        plan = default_plan(settings.catalog)
        if args.print_only:
            print(describe_plan(settings, plan, args.secrets_namespace))
            return 0
        client = PolarisClient(settings.polaris, wait_timeout=args.wait_timeout)
        store = secrets or KubernetesSecretStore(args.secrets_namespace)
        bootstrap(client, settings.storage, store, plan)
    except (SettingsError, PolarisError, SecretStoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
