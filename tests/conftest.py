"""Fixtures shared by every test folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.settings import Settings


@pytest.fixture
def lakehouse_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The embedded default in a temporary data folder, set in the environment as a run sees it
    (dbt subprocesses and the dbt-duckdb plugin read the same variables)."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("LAKEHOUSE_PROFILE", "local")
    monkeypatch.setenv("LAKEHOUSE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    (tmp_path / "dagster").mkdir()
    return Settings.from_env()
