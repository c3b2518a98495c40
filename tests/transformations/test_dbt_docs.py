"""The dbt docs site opens on the project's overview, and the sources say who loads and owns them."""

from __future__ import annotations

import json

from lakehouse.layers import Layer


def manifest() -> dict:
    from orchestration.defs.dbt.project import dbt_project

    project = dbt_project()
    if not project.manifest_path.exists():
        project.preparer.prepare(project)
    return json.loads(project.manifest_path.read_text())


def test_the_overview_page_explains_every_layer():
    docs = manifest()["docs"]
    # dbt docs shows the project's own __overview__ block instead of its generic welcome page.
    overview = docs["doc.lakehouse.__overview__"]["block_contents"]
    for layer in Layer:
        assert f"**{layer.value}**" in overview, layer


def test_raw_sources_have_a_loader_and_an_owner():
    sources = [s for s in manifest()["sources"].values() if s["source_name"] == "raw"]
    assert len(sources) >= 5
    for source in sources:
        assert source["loader"] == "dlt", source["name"]
        assert source["meta"]["owner"] == "team:data-engineering", source["name"]
