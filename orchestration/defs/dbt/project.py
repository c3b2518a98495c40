"""The ONE place that finds the dbt project."""

from __future__ import annotations

import json
from functools import cache

from dagster_dbt import DbtProject

from lakehouse.paths import DBT_PROJECT_DIR
from lakehouse.settings import Profile


@cache
def dbt_project() -> DbtProject:
    """The dbt project, reading the manifest of the profile's target (``target/<target>/``).

    The target follows ``LAKEHOUSE_PROFILE`` alone (``Profile.dbt_target``): the switch decides
    which manifest, hence which asset graph, the code location loads, so it is read here; the
    cluster's connection settings are not, and a run that lacks them fails naming them. The
    manifest is built ahead of time (``make manifest``, or at image build time in the cluster);
    under ``dagster dev`` it is rebuilt on load so model edits show up at once.
    """
    target = Profile.from_env().dbt_target
    project = DbtProject(project_dir=DBT_PROJECT_DIR, target=target, target_path=f"target/{target}")
    project.prepare_if_dev()
    return project


@cache
def dbt_project_manifest() -> dict:
    """The parsed manifest the code location was loaded with."""
    return json.loads(dbt_project().manifest_path.read_text())
