"""The pinned UPSTREAM charts, rendered offline with the project's values (helm-python-sdk).

Upstream charts are not in this repository and cannot be downloaded on the development machine:
``LAKEHOUSE_UPSTREAM_CHARTS`` names a folder holding them unpacked as ``<release>/Chart.yaml``
(the kind-e2e CI workflow fills it with ``helm pull --untar``). Without it, or without one
release's chart in it, the tests that need that chart skip and say why.

Helm checks the values against each chart's ``values.schema.json`` before rendering. The dagster
chart's schemas ``$ref`` Kubernetes definitions by URL (yannh/kubernetes-json-schema v1.19.0),
which cannot be fetched here and fail helm-python-sdk's render; such a chart is checked with
``jsonschema`` instead, the URL served from the definitions kubernetes-validate bundles for
``KUBE_VERSION`` (a newer Kubernetes than the schemas name), and rendered from a copy without its
schemas.

A chart must be at its pinned version. Where the pinned release cannot be had, a nearby one may
stand in only when ``LAKEHOUSE_UPSTREAM_STANDINS`` names it (``dagster=1.12.19,...``); each render
of a stand-in then warns which version was checked, so the run's summary says so.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infrastructure import infra_checks as checks

ENV_VAR = "LAKEHOUSE_UPSTREAM_CHARTS"
STANDINS_VAR = "LAKEHOUSE_UPSTREAM_STANDINS"
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


def standins() -> dict[str, str]:
    """Release -> chart version allowed to stand in for the pin (``LAKEHOUSE_UPSTREAM_STANDINS``)."""
    pairs = [item.split("=", 1) for item in os.environ.get(STANDINS_VAR, "").split(",") if item]
    return {name.strip(): version.strip() for name, version in pairs}


SCHEMA = "values.schema.json"
K8S_DEFINITIONS_URL = "https://raw.githubusercontent.com/yannh/kubernetes-json-schema/"


def _remote_schemas(path: Path) -> list[Path]:
    """The chart's (and its subcharts') schemas that ``$ref`` Kubernetes definitions by URL."""
    return [s for s in path.rglob(SCHEMA) if K8S_DEFINITIONS_URL in s.read_text()]


def _enabled(condition: str | None, values: dict[str, Any]) -> bool:
    """A dependency's ``condition`` the way helm reads it: the first of its paths set to a bool."""
    for path in (condition or "").split(","):
        node: Any = values
        for key in path.strip().split("."):
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, bool):
            return node
    return True


def check_schemas_offline(path: Path, chart: Any, values: dict[str, Any]) -> None:
    """What helm's schema check does (the chart's schema on its values, each enabled subchart's
    on the values under its name with the globals), the remote definitions served from
    kubernetes-validate's bundle."""
    import jsonschema
    import referencing

    bundled = (
        importlib.resources.files("kubernetes_validate")
        / "kubernetes-json-schema"
        / f"v{checks.KUBE_VERSION}-local"
        / "_definitions.json"
    )
    # The bundle keeps the definitions under `$defs`, the URL's pointers say `definitions`.
    document = json.loads(bundled.read_text())
    definitions = referencing.Resource.opaque({**document, "definitions": document["$defs"]})

    def retrieve(uri: str) -> referencing.Resource:
        assert uri.startswith(K8S_DEFINITIONS_URL), f"unexpected remote schema {uri}"
        return definitions

    registry = referencing.Registry(retrieve=retrieve)
    merged = chart.merge_values(values)
    scopes = {path: merged}
    for dependency in chart.metadata.get("dependencies") or []:
        name = dependency["name"]
        if _enabled(dependency.get("condition"), merged):
            scopes[path / "charts" / name] = {
                **merged.get(name, {}),
                "global": merged.get("global", {}),
            }
    for chart_path, scope in scopes.items():
        schema_file = chart_path / SCHEMA
        if not schema_file.is_file():
            continue
        validator = jsonschema.Draft7Validator(
            json.loads(schema_file.read_text()), registry=registry
        )
        errors = [
            f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(scope)
        ]
        assert errors == [], f"{schema_file}: {errors}"


def _render_without_schemas(path: Path, values: dict[str, Any], name: str) -> dict[str, str]:
    import helm_python

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        shutil.copytree(path, copy, ignore=shutil.ignore_patterns(SCHEMA))
        return helm_python.Chart.load(copy).render(
            values, name=name, namespace=checks.NAMESPACE, is_install=True
        )


@functools.cache
def _render(
    path: Path, name: str, values_text: str
) -> tuple[str | None, tuple[dict[str, Any], ...]]:
    """(stand-in version or None when the chart is at its pin, the rendered objects)."""
    import helm_python

    charts = yaml.safe_load(checks.CHARTS_FILE.read_text())
    release = next(r for r in charts["releases"] if r["name"] == name)
    chart = helm_python.Chart.load(path)
    if chart.version != release["version"]:
        assert chart.version == standins().get(name), (
            f"{path} is {chart.version}, pinned {release['version']} "
            f"(a stand-in must be named in {STANDINS_VAR})"
        )
    values = yaml.safe_load(values_text)
    if _remote_schemas(path):
        check_schemas_offline(path, chart, values)
        rendered = _render_without_schemas(path, values, name)
    else:
        rendered = chart.render(values, name=name, namespace=checks.NAMESPACE, is_install=True)
    docs = []
    for source, text in rendered.items():
        if any(part in source for part in SKIP_SOURCES) or not source.endswith((".yaml", ".yml")):
            continue
        for doc in checks.load_docs_text(text):
            doc.setdefault("metadata", {}).setdefault("annotations", {})
            docs.append(doc)
    standin = None if chart.version == release["version"] else chart.version
    return standin, tuple(docs)


def render(name: str, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every object release ``name`` would install (helm test hooks left out), with its values
    file or the ``values`` given instead."""
    if values is None:
        values_text = (checks.VALUES_DIR / f"{name}.yaml").read_text()
    else:
        values_text = yaml.safe_dump(values)
    standin, docs = _render(chart_dir(name), name, values_text)
    if standin:
        warnings.warn(f"{name} rendered from stand-in chart {standin}, not its pin", stacklevel=2)
    return list(docs)
