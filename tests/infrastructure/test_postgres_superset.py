"""`20-superset.sh` of infrastructure/kubernetes/postgres.yaml against a real PostgreSQL server.

`make up` runs the script in the Postgres pod on every call (and initdb runs it on a new volume),
so it must create the role and database once, keep them on a re-run, and set the role to the
Secret's current password each time. Runs where PostgreSQL's server binaries are installed
(Debian's postgresql package: initdb, pg_ctl), else skips; the server listens on a Unix socket in
a temporary folder only, with password authentication as in the cluster.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.infrastructure import infra_checks as checks

INITDB, PG_CTL, PSQL = (shutil.which(n) for n in ("initdb", "pg_ctl", "psql"))
pytestmark = pytest.mark.skipif(
    not (INITDB and PG_CTL and PSQL), reason="PostgreSQL server binaries (initdb, pg_ctl) absent"
)
SUPERUSER_PASSWORD = "super-secret"


def script_text() -> str:
    (config_map, *_) = checks.load_docs(checks.K8S_DIR / "postgres.yaml")
    return config_map["data"]["20-superset.sh"]


class Server:
    """A throwaway PostgreSQL server; as root, it runs as `nobody` (postgres refuses root)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.socket = base / "socket"
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("nobody")
            self.prefix = ["runuser", "-u", "nobody", "--"]
            for path in (base / "data", self.socket):
                path.mkdir()
                os.chown(path, user.pw_uid, user.pw_gid)
            base.chmod(0o755)

    def run(self, cmd: list[str], env: dict[str, str] | None = None, check: bool = True):
        full_env = {"PATH": os.environ["PATH"], "PGHOST": str(self.socket), **(env or {})}
        return subprocess.run(
            self.prefix + cmd, env=full_env, capture_output=True, text=True, check=check, timeout=60
        )

    def start(self) -> None:
        pwfile = self.base / "pw"
        pwfile.write_text(SUPERUSER_PASSWORD + "\n")
        pwfile.chmod(0o644)
        data = str(self.base / "data")
        self.run(
            [INITDB, "-D", data, "-U", "postgres", "--auth=scram-sha-256", f"--pwfile={pwfile}"]
        )
        options = f"-c listen_addresses='' -c unix_socket_directories={self.socket}"
        self.run([PG_CTL, "-D", data, "-o", options, "-w", "-l", f"{data}/log", "start"])

    def stop(self) -> None:
        self.run([PG_CTL, "-D", str(self.base / "data"), "-m", "fast", "-w", "stop"], check=False)

    def setup_script(self, password: str) -> subprocess.CompletedProcess[str]:
        env = {
            "POSTGRES_USER": "postgres",
            "PGPASSWORD": SUPERUSER_PASSWORD,
            "SUPERSET_DB_PASSWORD": password,
        }
        return self.run(["sh", "-c", script_text()], env=env, check=False)

    def query(self, sql: str, user: str, password: str, db: str = "postgres"):
        cmd = [PSQL, "-v", "ON_ERROR_STOP=1", "-U", user, "-d", db, "-tAc", sql]
        return self.run(cmd, env={"PGPASSWORD": password}, check=False)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """One server for the module: every test leaves it in a state the script must accept."""
    base = Path(tempfile.mkdtemp(prefix="lakehouse-pg-"))
    srv = Server(base)
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_creates_the_database_once_and_follows_the_secrets_password(server: Server) -> None:
    first = server.setup_script("first-password")
    assert first.returncode == 0, first.stderr
    login = server.query(
        "SELECT current_user, current_database()", "superset", "first-password", "superset"
    )
    assert login.stdout.strip() == "superset|superset", login.stderr

    # make up again, after `secrets generate --rotate`: nothing duplicated, the new password holds.
    again = server.setup_script("rotated-password")
    assert again.returncode == 0, again.stderr
    assert server.query("SELECT 1", "superset", "first-password", "superset").returncode != 0
    assert server.query("SELECT 1", "superset", "rotated-password", "superset").returncode == 0
    counts = server.query(
        "SELECT (SELECT count(*) FROM pg_roles WHERE rolname = 'superset'),"
        " (SELECT count(*) FROM pg_database WHERE datname = 'superset'),"
        " (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'superset')",
        "postgres",
        SUPERUSER_PASSWORD,
    )
    assert counts.stdout.strip() == "1|1|superset", counts.stderr


def test_other_roles_cannot_connect_to_supersets_database(server: Server) -> None:
    assert server.setup_script("pw").returncode == 0
    create = server.query("CREATE ROLE dagster LOGIN PASSWORD 'd'", "postgres", SUPERUSER_PASSWORD)
    assert create.returncode == 0, create.stderr
    denied = server.query("SELECT 1", "dagster", "d", "superset")
    assert denied.returncode != 0
    assert "permission denied for database" in denied.stderr
