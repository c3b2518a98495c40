"""Random credentials for the cluster, stored as Kubernetes Secrets (and nowhere in git).

``python -m lakehouse.platform.secrets generate`` creates every Secret the charts and manifests
read (see infrastructure/kubernetes/secrets.example.yaml for their shape). It is idempotent: an
existing Secret keeps its values unless ``--rotate`` is given; a key that a newer version of this
module adds is filled in without touching the others. It then writes what a person needs to log
in to the git-ignored ``infrastructure/.secrets/credentials.env`` (mode 0600).

``python -m lakehouse.platform.secrets export`` rewrites that file from the cluster, including the
Polaris principal credentials that the bootstrap Job wrote after ``generate`` ran.

The Kubernetes API is reached through ``lakehouse.platform.secret_store.SecretStore`` (shared with
the Polaris bootstrap), so the logic is tested without a cluster (tests/infrastructure/test_secrets.py).
"""

from __future__ import annotations

import argparse
import os
import secrets as random_source
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse.paths import REPO_ROOT
from lakehouse.platform.secret_store import KubernetesSecretStore, SecretStore, SecretStoreError

NAMESPACE = "lakehouse"
KIND_CONTEXT = "kind-lakehouse"
CREDENTIALS_FILE = REPO_ROOT / "infrastructure" / ".secrets" / "credentials.env"
POLARIS_REALM = "POLARIS"
S3_ACCESS_KEY_ID = "lakehouse-app"  # a user name (MinIO user of the platform), not a secret
SUPERSET_SECRET = "lakehouse-superset"
SUPERSET_ADMIN_USER = "admin"  # a user name, not a secret
MANAGED_LABELS = {"app.kubernetes.io/managed-by": "lakehouse-platform-secrets"}
# Secrets written by the Polaris bootstrap Job (lakehouse.platform.polaris), read by `export`.
PRINCIPAL_SECRETS = (
    "polaris-ingestion-writer",
    "polaris-dbt-transformer",
    "polaris-trino-reader",
    "polaris-table-maintainer",
)


def random_password(length: int = 32) -> str:
    """URL-safe random text: no ',', ':' or quotes, so it fits every credential format used here."""
    return random_source.token_urlsafe(length)


@dataclass(frozen=True)
class SecretSpec:
    """One Secret: fixed keys (``constants``), random keys (``generated``), derived keys."""

    name: str
    purpose: str
    generated: tuple[str, ...] = ()
    constants: Mapping[str, str] = field(default_factory=dict)
    derive: Callable[[Mapping[str, str]], dict[str, str]] | None = None

    def build(
        self, current: Mapping[str, str], rotate: bool, new: Callable[[], str]
    ) -> dict[str, str]:
        data = dict(self.constants)
        for key in self.generated:
            keep = key in current and not rotate
            data[key] = current[key] if keep else new()
        if self.derive is not None:
            data.update(self.derive(data))
        return data


def _polaris_root_file(data: Mapping[str, str]) -> dict[str, str]:
    # The Polaris admin tool's credentials file (RootCredentialsSet YAML format).
    return {
        "credentials.yaml": (
            f"{POLARIS_REALM}:\n"
            f"  client-id: {data['client-id']}\n"
            f"  client-secret: {data['client-secret']}\n"
        )
    }


def _mlflow_tracking_uri(data: Mapping[str, str]) -> dict[str, str]:
    # MLflow's tracking store on the project's Postgres (database and role `mlflow`).
    return {
        "tracking-uri": (f"postgresql://mlflow:{data['password']}@lakehouse-postgres:5432/mlflow")
    }


SPECS: tuple[SecretSpec, ...] = (
    SecretSpec(
        name="minio-root",
        purpose="MinIO root user (chart existingSecret)",
        generated=("rootPassword",),
        constants={"rootUser": "lakehouse-admin"},
    ),
    SecretSpec(
        name="lakehouse-s3",
        purpose="the platform's S3 user (MinIO user lakehouse-app), env-ready keys",
        generated=("AWS_SECRET_ACCESS_KEY",),
        constants={"AWS_ACCESS_KEY_ID": S3_ACCESS_KEY_ID},
    ),
    SecretSpec(
        name="lakehouse-postgres",
        purpose="Postgres superuser",
        generated=("postgres-password",),
    ),
    SecretSpec(
        name="polaris-persistence",
        purpose="Polaris metastore (relational-jdbc) connection",
        generated=("password",),
        constants={
            "username": "polaris",
            "jdbcUrl": "jdbc:postgresql://lakehouse-postgres:5432/polaris",
        },
    ),
    SecretSpec(
        name="polaris-root",
        purpose=f"Polaris root principal of realm {POLARIS_REALM}",
        generated=("client-secret",),
        constants={"client-id": "root"},
        derive=_polaris_root_file,
    ),
    SecretSpec(
        name="polaris-token-broker",
        purpose="Polaris token signing key (symmetric)",
        generated=("symmetric.key",),
    ),
    SecretSpec(
        name="dagster-postgresql-secret",
        purpose="Dagster storage password (role dagster)",
        generated=("postgresql-password",),
    ),
    SecretSpec(
        name="lakehouse-mlflow",
        purpose="MLflow tracking store (role mlflow) of the ml assets",
        generated=("password",),
        derive=_mlflow_tracking_uri,
    ),
    SecretSpec(
        # Env-ready keys: the Superset chart loads the whole Secret with envFromSecret, so the
        # web pod and its init Job see them as environment variables (values/superset.yaml).
        name=SUPERSET_SECRET,
        purpose="Superset SECRET_KEY, metadata DB password (role superset), admin login",
        generated=("SUPERSET_SECRET_KEY", "SUPERSET_DB_PASSWORD", "SUPERSET_ADMIN_PASSWORD"),
        constants={"SUPERSET_ADMIN_USER": SUPERSET_ADMIN_USER},
    ),
)


@dataclass(frozen=True)
class Outcome:
    name: str
    action: str  # created | kept | completed | rotated


def ensure_secrets(
    store: SecretStore,
    specs: Iterable[SecretSpec] = SPECS,
    *,
    rotate: bool = False,
    new: Callable[[], str] = random_password,
) -> tuple[list[Outcome], dict[str, dict[str, str]]]:
    """Create missing Secrets, keep existing values (unless ``rotate``); return what happened."""
    outcomes: list[Outcome] = []
    values: dict[str, dict[str, str]] = {}
    for spec in specs:
        current = store.read(spec.name)
        data = spec.build(current or {}, rotate, new)
        if current is None:
            store.write(spec.name, data, MANAGED_LABELS)
            action = "created"
        elif rotate:
            store.write(spec.name, data, MANAGED_LABELS)
            action = "rotated"
        elif data != current:
            # Only keys this version adds (or derives) differ; existing random values are kept.
            store.write(spec.name, {**current, **data}, MANAGED_LABELS)
            action = "completed"
        else:
            action = "kept"
        outcomes.append(Outcome(spec.name, action))
        values[spec.name] = data
    return outcomes, values


def credentials_env(values: Mapping[str, Mapping[str, str]]) -> str:
    """The text of credentials.env: what a person types into a login form or a laptop ``.env``."""

    def get(secret: str, key: str) -> str:
        return values.get(secret, {}).get(key, "")

    lines = [
        "# Generated by `python -m lakehouse.platform.secrets` (make up). Git-ignored; do not commit.",
        "# The same values live in Kubernetes Secrets in the `lakehouse` namespace.",
        "",
        "# MinIO console (make port-forward -> http://localhost:9001)",
        f"MINIO_ROOT_USER={get('minio-root', 'rootUser')}",
        f"MINIO_ROOT_PASSWORD={get('minio-root', 'rootPassword')}",
        "",
        "# Polaris root principal (realm POLARIS), for the management API on http://localhost:8181",
        f"POLARIS_ROOT_CLIENT_ID={get('polaris-root', 'client-id')}",
        f"POLARIS_ROOT_CLIENT_SECRET={get('polaris-root', 'client-secret')}",
        "",
        "# Superset (make port-forward -> http://localhost:8088); Secret lakehouse-superset",
        f"SUPERSET_ADMIN_USER={get(SUPERSET_SECRET, 'SUPERSET_ADMIN_USER')}",
        f"SUPERSET_ADMIN_PASSWORD={get(SUPERSET_SECRET, 'SUPERSET_ADMIN_PASSWORD')}",
        "",
        "# LAKEHOUSE_PROFILE=k8s from a laptop through `make port-forward` (paste into .env):",
        "LAKEHOUSE_PROFILE=k8s",
        "ICEBERG_REST_URI=http://localhost:8181/api/catalog",
        "ICEBERG_REST_WAREHOUSE=lakehouse",
        "ICEBERG_REST_SCOPE=PRINCIPAL_ROLE:ALL",
        f"ICEBERG_REST_CLIENT_ID={get('polaris-ingestion-writer', 'client-id')}",
        f"ICEBERG_REST_CLIENT_SECRET={get('polaris-ingestion-writer', 'client-secret')}",
        "S3_ENDPOINT=http://localhost:9000",
        "S3_PATH_STYLE_ACCESS=true",
        "AWS_REGION=us-east-1",
        f"AWS_ACCESS_KEY_ID={get('lakehouse-s3', 'AWS_ACCESS_KEY_ID')}",
        f"AWS_SECRET_ACCESS_KEY={get('lakehouse-s3', 'AWS_SECRET_ACCESS_KEY')}",
        "LAKEHOUSE_WAREHOUSE_URI=s3://lakehouse/warehouse",
        "TRINO_HOST=localhost",
        "TRINO_PORT=8080",
        "TRINO_USER=dbt",
        "TRINO_CATALOG=iceberg",
    ]
    if not get("polaris-ingestion-writer", "client-id"):
        lines.append(
            "# ICEBERG_REST_CLIENT_* are empty until the Polaris bootstrap Job has run: "
            "`python -m lakehouse.platform.secrets export` fills them in."
        )
    return "\n".join(lines) + "\n"


def write_credentials(path: Path, text: str) -> None:
    """Write ``text`` readable by the owner only (the folder is git-ignored)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(0o600)


def read_all(store: SecretStore, names: Iterable[str]) -> dict[str, dict[str, str]]:
    return {name: data for name in names if (data := store.read(name)) is not None}


def main(argv: list[str] | None = None, store: SecretStore | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lakehouse.platform.secrets", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="create missing Secrets, write credentials.env")
    gen.add_argument("--rotate", action="store_true", help="replace existing random values too")
    exp = sub.add_parser("export", help="rewrite credentials.env from the cluster")
    for p in (gen, exp):
        p.add_argument("--namespace", default=NAMESPACE)
        p.add_argument(
            "--context", default=KIND_CONTEXT, help="kubeconfig context (default: %(default)s)"
        )
        p.add_argument("--output", type=Path, default=CREDENTIALS_FILE)
    args = parser.parse_args(argv)

    store = store or KubernetesSecretStore(args.namespace, context=args.context)
    try:
        _run(args, store)
    except SecretStoreError as exc:  # no kubeconfig, unknown context, refused request
        print(
            f"error: {exc}\n  Is the cluster up? Run `make up` (it creates the kind cluster first).",
            file=sys.stderr,
        )
        return 2
    return 0


def _run(args: argparse.Namespace, store: SecretStore) -> None:
    if args.command == "generate":
        if args.rotate:
            print("==> rotating every generated credential (existing Secrets are replaced)")
        outcomes, values = ensure_secrets(store, rotate=args.rotate)
        for outcome in outcomes:
            print(f"    secret/{outcome.name}: {outcome.action}")
        if args.rotate:
            print(
                "    note: Postgres roles and the MinIO user keep their old passwords until the\n"
                "    cluster is recreated (`make down && make up`); see TEARDOWN.md."
            )
        values.update(read_all(store, PRINCIPAL_SECRETS))
    else:
        values = read_all(store, [spec.name for spec in SPECS] + list(PRINCIPAL_SECRETS))
    write_credentials(args.output, credentials_env(values))
    print(f"==> wrote {args.output} (git-ignored, mode 0600)")


if __name__ == "__main__":
    sys.exit(main())
