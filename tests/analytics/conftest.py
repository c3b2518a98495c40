"""One real Superset per session, from analytics/superset's locked environment, over a demo's
data folder, with the bundle imported: the path `make dashboards` takes (analytics.server)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from analytics import bundle, server, views
from analytics.spec import Spec
from lakehouse.paths import REPO_ROOT
from lakehouse.settings import Settings
from orchestration.code_server import free_port

DEMO_DAYS = 2


@dataclass(frozen=True)
class RunningSuperset:
    url: str
    session: requests.Session  # logged in as the admin
    spec: Spec
    settings: Settings
    env: dict[str, str]  # the demo's LAKEHOUSE_DATA_DIR and DAGSTER_HOME
    admin_password: str
    superset_env: dict[str, str]  # the Superset processes' environment (analytics.server)


def uv() -> str:
    found = shutil.which("uv") or str(REPO_ROOT / ".tools" / "bin" / "uv")
    if not Path(found).exists():
        pytest.fail("no uv: run `make setup` first")
    return found


@contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="session")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A data folder the demo filled with DEMO_DAYS business dates, and the variables naming it
    (and the Dagster instance holding the demo's runs)."""
    root = tmp_path_factory.mktemp("superset-demo")
    env = {"LAKEHOUSE_PROFILE": "local", "LAKEHOUSE_DATA_DIR": str(root / "data")}
    env["DAGSTER_HOME"] = str(root / "dagster")
    Path(env["DAGSTER_HOME"]).mkdir()
    # A landed partner file with one bad row, so the data health dashboard has a quarantine to
    # show (the demo's job lands the partners source; tests/orchestration/test_land_command.py).
    landed = root / "data" / "landing" / "partners" / "2024-01-01"
    landed.mkdir(parents=True)
    (landed / "stores.csv").write_text(
        "store_id,store_name,city,opened_on\n1,Main Street,Lyon,2020-01-02\nx,Bad key,Paris,\n"
    )
    demo = subprocess.run(
        [sys.executable, "-m", "orchestration.demo", "--days", str(DEMO_DAYS)],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    return env


@pytest.fixture(scope="session")
def superset(demo_env: dict[str, str]) -> Iterator[RunningSuperset]:
    demo_data = Settings.from_env(demo_env)
    install = subprocess.run(
        [uv(), "sync", "--frozen", "--quiet", "--project", str(server.SUPERSET_PROJECT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    gold, health = views.refresh(demo_data)
    assert gold and health, "the demo published no gold or no health table"
    folder = demo_data.data_dir / "superset"
    bundle_zip = folder / "bundle.zip"
    spec = bundle.build(server.DATABASE_NAME, server.views_uri(demo_data), bundle_zip)
    credentials, generated = server.ensure_credentials(folder / "test.env")
    assert generated
    env = server.superset_environment(demo_data.data_dir, credentials)
    server.prepare(env, credentials.admin_password)
    url = f"http://127.0.0.1:{free_port()}"
    log = folder / "superset.log"
    process = server.start(env, int(url.rsplit(":", 1)[1]), log)
    try:
        server.wait_until_ready(process, url, log)
        session = server.api_session(url, credentials.admin_password)
        server.import_bundle(session, url, bundle_zip)
        yield RunningSuperset(
            url=url,
            session=session,
            spec=spec,
            settings=demo_data,
            env=demo_env,
            admin_password=credentials.admin_password,
            superset_env=env,
        )
    finally:
        process.terminate()
        process.wait(timeout=60)
