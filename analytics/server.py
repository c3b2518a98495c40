"""``make dashboards``: Apache Superset on loopback over the published gold tables.

Superset runs from its own locked environment (``analytics/superset/``, installed by the make
target) because its dependencies clash with the code location's. This module, in the code
location's environment, does the rest in order:

1. the admin password and Superset's SECRET_KEY: generated once into the git-ignored ``.env``
   (the password is printed that once);
2. the views file over the published gold and the ``health.*`` tables (``analytics.views``; the
   data-health assets also rebuild it after each publish) and the import bundle for a DuckDB
   connection that opens it read-only (``analytics.bundle``);
3. ``superset db upgrade``, ``superset fab create-admin``, ``superset init`` on a SQLite metadata
   database in the data folder (each is a no-op when already done);
4. ``superset run`` on 127.0.0.1, then the bundle through ``POST /api/v1/assets/import/``, which
   overwrites every object it names, so a re-run updates the dashboards in place instead of
   adding copies. ``superset import-dashboards`` would keep changed charts as they were: at 6.1.0
   its command imports charts with ``overwrite=False`` (superset/commands/dashboard/importers/v1/
   __init__.py), the assets API with ``overwrite=True`` (superset/commands/importers/v1/assets.py).
"""

from __future__ import annotations

import argparse
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from analytics import bundle, views
from analytics.spec import ANALYTICS_DIR
from lakehouse.paths import REPO_ROOT
from lakehouse.settings import Settings

SUPERSET_PROJECT = ANALYTICS_DIR / "superset"
SUPERSET_BIN = SUPERSET_PROJECT / ".venv" / "bin" / "superset"
DATABASE_NAME = "lakehouse"
ADMIN_USER = "admin"
SECRET_KEY_VARIABLE = "SUPERSET_SECRET_KEY"
PASSWORD_VARIABLE = "SUPERSET_ADMIN_PASSWORD"
READY_SECONDS = 300  # a first start on a busy 2-core machine


class SupersetError(RuntimeError):
    """A Superset command or API call failed; the message carries its output."""


@dataclass(frozen=True)
class Credentials:
    secret_key: str
    admin_password: str


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, sep, value = line.strip().partition("=")
            if sep and not name.startswith("#"):
                values[name.strip()] = value.strip()
    return values


def ensure_credentials(env_file: Path) -> tuple[Credentials, bool]:
    """The SECRET_KEY and admin password from ``env_file``, generated and appended when missing.
    Also whether they were generated now (the caller prints the password that once)."""
    values = read_env_file(env_file)
    missing = {
        name: secrets.token_urlsafe(42 if name == SECRET_KEY_VARIABLE else 18)
        for name in (SECRET_KEY_VARIABLE, PASSWORD_VARIABLE)
        if not values.get(name)
    }
    if missing:
        with env_file.open("a") as out:
            out.write("\n# Superset (make dashboards): generated once; keep them private.\n")
            out.writelines(f"{name}={value}\n" for name, value in missing.items())
        env_file.chmod(0o600)
        values |= missing
    return Credentials(values[SECRET_KEY_VARIABLE], values[PASSWORD_VARIABLE]), bool(missing)


def superset_environment(data_dir: Path, credentials: Credentials) -> dict[str, str]:
    """The Superset process's whole environment (nothing inherited: no stray Flask settings)."""
    metadata = data_dir / "superset" / "superset.db"
    return {
        "PATH": f"{SUPERSET_BIN.parent}:/usr/bin:/bin",
        "HOME": str(data_dir / "superset"),
        "SUPERSET_CONFIG_PATH": str(SUPERSET_PROJECT / "superset_config.py"),
        "SUPERSET_SECRET_KEY": credentials.secret_key,
        "SUPERSET_METADATA_URI": f"sqlite:///{metadata}",
        "FLASK_APP": "superset",
        "PYTHONUNBUFFERED": "1",
    }


def superset(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    if not SUPERSET_BIN.exists():
        raise SupersetError(
            f"{SUPERSET_BIN} is missing: install Superset's environment with "
            "`uv sync --frozen --project analytics/superset` (make dashboards does)"
        )
    done = subprocess.run(
        [str(SUPERSET_BIN), *args], env=env, input=stdin, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SupersetError(f"superset {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


def prepare(env: dict[str, str], admin_password: str) -> None:
    """Create or upgrade the metadata database, the admin user and the roles (all idempotent)."""
    superset(env, "db", "upgrade")
    # The password goes through the prompt (stdin), not the command line that `ps` shows.
    twice = f"{admin_password}\n{admin_password}\n"
    said = superset(
        env,
        *("fab", "create-admin", "--username", ADMIN_USER, "--firstname", "Lakehouse"),
        *("--lastname", "Admin", "--email", "admin@localhost"),
        stdin=twice,
    )
    if "already exists" in said:  # .env is the truth: an edited password applies
        superset(env, "fab", "reset-password", "--username", ADMIN_USER, stdin=twice)
    superset(env, "init")


def start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    """``superset run`` on 127.0.0.1:``port``, its output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(SUPERSET_BIN), "run", "-h", "127.0.0.1", "-p", str(port), "--with-threads"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_until_ready(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SupersetError(
                f"Superset exited ({process.returncode}): {log.read_text()[-3000:]}"
            )
        try:
            if requests.get(f"{url}/health", timeout=5).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(1)
    raise SupersetError(f"Superset did not answer {url}/health: {log.read_text()[-3000:]}")


def api_session(url: str, password: str, user: str = ADMIN_USER) -> requests.Session:
    """A session logged in through ``/api/v1/security/login`` (JWT), with the CSRF token that
    Superset's write endpoints ask for."""
    session = requests.Session()
    login = session.post(
        f"{url}/api/v1/security/login",
        json={"username": user, "password": password, "provider": "db", "refresh": False},
        timeout=30,
    )
    if not login.ok:
        raise SupersetError(f"login as {user} failed ({login.status_code}): {login.text}")
    session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    csrf = session.get(f"{url}/api/v1/security/csrf_token/", timeout=30)
    if not csrf.ok:
        raise SupersetError(f"no CSRF token ({csrf.status_code}): {csrf.text}")
    session.headers.update({"X-CSRFToken": csrf.json()["result"], "Referer": url})
    return session


def import_bundle(session: requests.Session, url: str, path: Path) -> None:
    with path.open("rb") as zipped:
        done = session.post(
            f"{url}/api/v1/assets/import/",
            files={"bundle": (path.name, zipped, "application/zip")},
            timeout=300,
        )
    if not done.ok:
        raise SupersetError(f"importing {path} failed ({done.status_code}): {done.text}")


def views_uri(settings: Settings) -> str:
    """DuckDB through duckdb-engine, on the views file, read-only (``access_mode`` is DuckDB's
    own setting; duckdb-engine passes URL query parameters to ``duckdb.connect`` as config)."""
    return f"duckdb:///{views.views_path(settings)}?access_mode=read_only"


def port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--env-file", type=Path, default=REPO_ROOT / ".env")
    args = parser.parse_args(argv)
    if port_taken(args.port):
        print(
            f"port {args.port} is taken: stop what uses it, or SUPERSET_PORT=8089", file=sys.stderr
        )
        return 1
    settings = Settings.from_env()
    gold, health = views.refresh(settings)
    if not gold:
        print("no published gold table yet: run `make demo` first", file=sys.stderr)
        return 1
    if not health:
        print("no health.* tables yet: the Data health dashboard fills after the next run")
    folder = settings.data_dir / "superset"
    bundle_zip = folder / "bundle.zip"
    spec = bundle.build(DATABASE_NAME, views_uri(settings), bundle_zip)
    credentials, generated = ensure_credentials(args.env_file)
    env = superset_environment(settings.data_dir, credentials)
    print("==> Superset: metadata database, admin user, roles")
    prepare(env, credentials.admin_password)
    url = f"http://localhost:{args.port}"
    log = folder / "superset.log"
    # A plain SIGTERM would end this process without the `finally` below, orphaning Superset.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    server = start(env, args.port, log)
    try:
        wait_until_ready(server, url, log)
        import_bundle(api_session(url, credentials.admin_password), url, bundle_zip)
        print(f"==> Superset on {url} (log: {log}; Ctrl-C stops it)")
        print(f"    user {ADMIN_USER}, password in {args.env_file} ({PASSWORD_VARIABLE})")
        if generated:
            print(f"    generated now, shown once: {credentials.admin_password}")
        for dashboard in spec.dashboards:
            print(f"    {dashboard.title:<12} {url}/superset/dashboard/{dashboard.slug}/")
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
