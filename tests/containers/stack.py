"""MinIO + Polaris + Trino on one Docker network (testcontainers), bootstrapped by the project.

Inside the network the services use the names the cluster uses (``minio:9000``, ``polaris:8181``),
so Polaris' storage config and Trino's catalog files are the production ones; this test process
reaches the same services through their mapped ports. Images follow
``infrastructure/helm/charts.yaml`` and can be overridden with ``LAKEHOUSE_TEST_*_IMAGE``.

The Polaris bootstrap runs exactly as the Kubernetes Job does, except that principal credentials go
to an in-memory secret store, from which Trino's catalog files and the clients get them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse.platform.polaris import (
    BootstrapSettings,
    PolarisClient,
    bootstrap,
    default_plan,
)
from tests.infrastructure.secret_store_double import MemorySecretStore

POLARIS_IMAGE = os.environ.get("LAKEHOUSE_TEST_POLARIS_IMAGE", "apache/polaris:1.7.0")
MINIO_IMAGE = os.environ.get(
    "LAKEHOUSE_TEST_MINIO_IMAGE", "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"
)
TRINO_IMAGE = os.environ.get("LAKEHOUSE_TEST_TRINO_IMAGE", "trinodb/trino:480")

BUCKET = "lakehouse"
REGION = "us-east-1"
S3_KEY, S3_SECRET = "lakehouse-admin", "lakehouse-admin-secret"  # throwaway, test containers only
ROOT_ID, ROOT_SECRET = "root", "root-secret-for-tests"
TRINO_USER = "dbt"


def trino_catalog(principal_credentials: dict[str, str]) -> str:
    """An Iceberg REST catalog file as in infrastructure/helm/values/trino.yaml."""
    return "\n".join(
        [
            "connector.name=iceberg",
            "iceberg.catalog.type=rest",
            "iceberg.rest-catalog.uri=http://polaris:8181/api/catalog",
            f"iceberg.rest-catalog.warehouse={BUCKET}",
            "iceberg.rest-catalog.security=OAUTH2",
            "iceberg.rest-catalog.oauth2.server-uri=http://polaris:8181/api/catalog/v1/oauth/tokens",
            "iceberg.rest-catalog.oauth2.credential="
            f"{principal_credentials['client-id']}:{principal_credentials['client-secret']}",
            "iceberg.rest-catalog.oauth2.scope=PRINCIPAL_ROLE:ALL",
            "iceberg.rest-catalog.vended-credentials-enabled=false",
            "iceberg.file-format=PARQUET",
            "fs.s3.enabled=true",
            "s3.endpoint=http://minio:9000",
            f"s3.region={REGION}",
            "s3.path-style-access=true",
            f"s3.aws-access-key={S3_KEY}",
            f"s3.aws-secret-key={S3_SECRET}",
            "",
        ]
    )


@dataclass
class Stack:
    minio_endpoint: str  # as this process reaches it
    polaris_url: str  # scheme://host:port, as this process reaches it
    trino_host: str
    trino_port: int
    secrets: MemorySecretStore = field(repr=False)

    def client_env(self, principal: str, data_dir: Path | str) -> dict[str, str]:
        """``LAKEHOUSE_PROFILE=k8s`` settings of a workload running outside the network."""
        creds = self.secrets.secrets[f"polaris-{principal.replace('_', '-')}"]
        return {
            "LAKEHOUSE_PROFILE": "k8s",
            "LAKEHOUSE_DATA_DIR": str(data_dir),
            "ICEBERG_REST_URI": f"{self.polaris_url}/api/catalog",
            "ICEBERG_REST_WAREHOUSE": BUCKET,
            "ICEBERG_REST_CLIENT_ID": creds["client-id"],
            "ICEBERG_REST_CLIENT_SECRET": creds["client-secret"],
            "S3_ENDPOINT": self.minio_endpoint,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": S3_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET,
            "LAKEHOUSE_WAREHOUSE_URI": f"s3://{BUCKET}/warehouse",
            "TRINO_HOST": self.trino_host,
            "TRINO_PORT": str(self.trino_port),
            "TRINO_USER": TRINO_USER,
            "TRINO_CATALOG": "iceberg",
        }


@contextlib.contextmanager
def running_stack() -> Iterator[Stack]:
    """Start MinIO and Polaris, bootstrap Polaris, then start Trino with the principals' keys."""
    from testcontainers.community.minio import MinioContainer
    from testcontainers.community.trino import TrinoContainer
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.network import Network
    from testcontainers.core.wait_strategies import HttpWaitStrategy

    with contextlib.ExitStack() as stack:
        network = stack.enter_context(Network())

        minio = (
            MinioContainer(image=MINIO_IMAGE, access_key=S3_KEY, secret_key=S3_SECRET)
            .with_env("MINIO_ROOT_USER", S3_KEY)
            .with_env("MINIO_ROOT_PASSWORD", S3_SECRET)
            .with_network(network)
            .with_network_aliases("minio")
        )
        stack.enter_context(minio)
        minio.get_client().make_bucket(BUCKET)
        host = minio.get_container_host_ip()
        minio_endpoint = f"http://{host}:{minio.get_exposed_port(9000)}"

        polaris = (
            DockerContainer(POLARIS_IMAGE)
            .with_network(network)
            .with_network_aliases("polaris")
            .with_exposed_ports(8181, 8182)
            # In-memory metastore; the root principal of realm POLARIS gets these credentials.
            .with_env("POLARIS_BOOTSTRAP_CREDENTIALS", f"POLARIS,{ROOT_ID},{ROOT_SECRET}")
            .with_env("polaris.realm-context.realms", "POLARIS")
            # dbt-trino replaces tables; Trino asks for purge on DROP TABLE (see values/polaris.yaml).
            .with_env('polaris.features."DROP_WITH_PURGE_ENABLED"', "true")
            .with_env("quarkus.otel.sdk.disabled", "true")
            # Polaris writes table metadata itself (no STS, no vending): MinIO keys.
            .with_env("AWS_ACCESS_KEY_ID", S3_KEY)
            .with_env("AWS_SECRET_ACCESS_KEY", S3_SECRET)
            .with_env("AWS_REGION", REGION)
            .waiting_for(
                HttpWaitStrategy(8182, "/q/health/ready")
                .for_status_code(200)
                .with_startup_timeout(180)
            )
        )
        stack.enter_context(polaris)
        polaris_url = f"http://{polaris.get_container_host_ip()}:{polaris.get_exposed_port(8181)}"

        env = {
            "POLARIS_MANAGEMENT_URI": f"{polaris_url}/api/management/v1",
            "POLARIS_TOKEN_URI": f"{polaris_url}/api/catalog/v1/oauth/tokens",
            "POLARIS_BOOTSTRAP_CLIENT_ID": ROOT_ID,
            "POLARIS_BOOTSTRAP_CLIENT_SECRET": ROOT_SECRET,
            "POLARIS_REALM": "POLARIS",
            "POLARIS_CATALOG": BUCKET,
            "POLARIS_STORAGE_BASE": f"s3://{BUCKET}/warehouse",
            # Polaris (in the network) writes through minio:9000; clients here are told the
            # mapped port (the catalog's client-facing `endpoint`).
            "S3_ENDPOINT": "http://minio:9000",
            "POLARIS_S3_CLIENT_ENDPOINT": minio_endpoint,
            "AWS_REGION": REGION,
        }
        settings = BootstrapSettings.from_env(env)
        secrets = MemorySecretStore()
        client = PolarisClient(settings.polaris, wait_timeout=120)
        bootstrap(client, settings.storage, secrets, default_plan(settings.catalog))

        trino = (
            TrinoContainer(image=TRINO_IMAGE, user=TRINO_USER, container_start_timeout=240)
            .with_network(network)
            .with_network_aliases("trino")
            .with_copy_into_container(
                trino_catalog(secrets.secrets["polaris-dbt-transformer"]).encode(),
                "/etc/trino/catalog/iceberg.properties",
            )
            .with_copy_into_container(
                trino_catalog(secrets.secrets["polaris-trino-reader"]).encode(),
                "/etc/trino/catalog/iceberg_readonly.properties",
            )
        )
        stack.enter_context(trino)
        yield Stack(
            minio_endpoint=minio_endpoint,
            polaris_url=polaris_url,
            trino_host=trino.get_container_host_ip(),
            trino_port=int(trino.get_exposed_port(8080)),
            secrets=secrets,
        )
