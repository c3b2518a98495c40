"""The shop's raw assets, described by the dbt source ``raw`` when the code location loads (not
when a module is imported, and not in a run, which needs only their keys)."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.dbt.project import dbt_project_manifest
from orchestration.defs.dlt.assets import build_shop_assets
from orchestration.defs.metadata import raw_source_docs


@dg.definitions
def shop_definitions() -> dg.Definitions:
    return dg.Definitions(assets=[build_shop_assets(raw_source_docs(dbt_project_manifest()))])
