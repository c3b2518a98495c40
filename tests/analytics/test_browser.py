"""A real browser opens every dashboard: each chart renders, none shows an error tile, and a
screenshot of each is saved under the data folder (``<data>/superset/screenshots/``).

Debian's ``chromium`` driven by Playwright for Python (``executable_path``; ``playwright install``
would download a browser). Superset 6.1.0's dashboard marks each chart slot
``data-test="chart-grid-component"``; a rendered chart has a ``data-test="chart-container"`` in it,
a failed one an Ant Design error alert (``.ant-alert-error``) instead. The planted-error test
shows that this check does see an error tile.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from analytics import bundle, server
from analytics.spec import load_spec
from tests.analytics.conftest import RunningSuperset

pytestmark = pytest.mark.superset

CHROMIUM = Path("/usr/bin/chromium")
# ../shared/TOOLCHAIN.md, "Headless browser": no sandbox (root in CI), nothing fetched.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SLOT = "[data-test='chart-grid-component']"
RENDERED = "[data-test='chart-container']"
ERROR_TILE = ".ant-alert-error"
RENDER_MS = 120_000


@pytest.fixture(scope="module")
def browser_page(superset: RunningSuperset) -> Iterator:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is not installed (apt-get install -y chromium; .ci/run installs it)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1600, "height": 1200})
        page.goto(f"{superset.url}/login/")
        page.fill("#username", server.ADMIN_USER)
        page.fill("#password", superset.admin_password)
        page.click("button[type=submit]")
        page.wait_for_url("**/superset/welcome/**")
        yield page
        browser.close()


def open_dashboard(page, url: str, slug: str, expected_charts: int) -> tuple[int, list[str]]:
    """Open a dashboard and wait until every chart slot holds a chart or an error; returns the
    number rendered and the error tiles' texts."""
    page.goto(f"{url}/superset/dashboard/{slug}/")
    page.wait_for_function(
        """([slot, rendered, error, expected]) => {
            const slots = [...document.querySelectorAll(slot)];
            return slots.length === expected && slots.every(
                s => s.querySelector(rendered) || s.querySelector(error));
        }""",
        arg=[SLOT, RENDERED, ERROR_TILE, expected_charts],
        timeout=RENDER_MS,
    )
    page.wait_for_load_state("networkidle")
    errors = [tile.inner_text() for tile in page.query_selector_all(f"{SLOT} {ERROR_TILE}")]
    return len(page.query_selector_all(f"{SLOT} {RENDERED}")), errors


def test_every_dashboard_renders_without_error_tiles(superset: RunningSuperset, browser_page):
    shots = superset.settings.data_dir / "superset" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for dashboard in superset.spec.dashboards:
        rendered, errors = open_dashboard(
            browser_page, superset.url, dashboard.slug, len(dashboard.charts)
        )
        shot = shots / f"{dashboard.slug}.png"
        browser_page.screenshot(path=str(shot), full_page=True)
        assert not errors, f"{dashboard.slug}: error tiles {errors} (see {shot})"
        assert rendered == len(dashboard.charts), dashboard.slug
        assert shot.stat().st_size > 10_000, f"{shot} looks empty"


def test_the_check_sees_an_error_tile(superset: RunningSuperset, browser_page, tmp_path: Path):
    """A dashboard whose dataset names a missing column: the check above reports its tile."""
    root = tmp_path / "planted"
    (root / "datasets").mkdir(parents=True)
    (root / "dashboards").mkdir()
    shutil.copy(
        Path(__file__).parent / "planted" / "broken_dataset.yml", root / "datasets" / "broken.yml"
    )
    shutil.copy(
        Path(__file__).parent / "planted" / "broken_dashboard.yml",
        root / "dashboards" / "planted_broken.yml",
    )
    files = bundle.bundle_files(
        load_spec(root), server.DATABASE_NAME, server.views_uri(superset.settings)
    )
    bundle.write_bundle(files, tmp_path / "broken.zip")
    server.import_bundle(superset.session, superset.url, tmp_path / "broken.zip")
    rendered, errors = open_dashboard(browser_page, superset.url, "planted_broken", 1)
    assert rendered == 0
    assert len(errors) == 1 and "no_such_column" in errors[0]
