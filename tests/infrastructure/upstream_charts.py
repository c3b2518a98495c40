"""The pinned UPSTREAM charts, rendered offline with the project's values (helm-python-sdk).

Upstream charts are not in this repository and cannot be downloaded on the development machine:
``LAKEHOUSE_UPSTREAM_CHARTS`` names a folder holding them unpacked as ``<release>/Chart.yaml``
(the kind-e2e CI workflow fills it with ``helm pull --untar``). Without it, or without one
release's chart in it, the tests that need that chart skip and say why.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infrastructure import infra_checks as checks

ENV_VAR = "LAKEHOUSE_UPSTREAM_CHARTS"
# Test hooks (`helm test`) are not installed by `make up`.
SKIP_SOURCES = ("/tests/",)


def _root() -> Path:
    root = os.environ.get(ENV_VAR, "")
    if not root:
        pytest.skip(f"{ENV_VAR} is not set: upstream charts are rendered in CI (kind-e2e)")
    return Path(root)


def chart_dir(name: str) -> Path:
    """The unpacked chart of release ``name``; skips the calling test when it is not there."""
    path = _root() / name
    if not (path / "Chart.yaml").is_file():
        pytest.skip(f"{path} holds no unpacked chart")
    return path


def missing(names: list[str]) -> list[str]:
    """Which of these releases have no unpacked chart (skips the test when none is set)."""
    root = _root()
    return [name for name in names if not (root / name / "Chart.yaml").is_file()]


@functools.cache
def _render(path: Path, name: str) -> tuple[dict[str, Any], ...]:
    import helm_python

    charts = yaml.safe_load(checks.CHARTS_FILE.read_text())
    release = next(r for r in charts["releases"] if r["name"] == name)
    chart = helm_python.Chart.load(path)
    assert chart.version == release["version"], (
        f"{path} is {chart.version}, pinned {release['version']}"
    )
    values = yaml.safe_load((checks.VALUES_DIR / f"{name}.yaml").read_text())
    rendered = chart.render(values, name=name, namespace=checks.NAMESPACE, is_install=True)
    docs = []
    for source, text in rendered.items():
        if any(part in source for part in SKIP_SOURCES) or not source.endswith((".yaml", ".yml")):
            continue
        for doc in checks.load_docs_text(text):
            doc.setdefault("metadata", {}).setdefault("annotations", {})
            docs.append(doc)
    return tuple(docs)


def render(name: str) -> list[dict[str, Any]]:
    """Every object release ``name`` would install (helm test hooks left out)."""
    return list(_render(chart_dir(name), name))
