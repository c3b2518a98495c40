"""Resources, configured from the environment when a run starts (``dg.EnvVar``), not at import."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_dlt import DagsterDltResource
from packaging import version

from lakehouse.settings import Settings
from orchestration.defs.dbt.project import dbt_project


class LakehouseResource(dg.ConfigurableResource):
    """Which deployment this run talks to: the embedded default or the cluster."""

    profile: str
    data_dir: str

    def settings(self) -> Settings:
        # Secrets (k8s) stay in the process environment; only the switch and folder come from here.
        return Settings.from_env(
            {**os.environ, "LAKEHOUSE_PROFILE": self.profile, "LAKEHOUSE_DATA_DIR": self.data_dir}
        )


class LakehouseDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource without two fixed costs it adds to every run.

    - The dbt version comes from the installed package. Upstream runs ``dbt --version``, which
      asks PyPI for the latest dbt-core and adapter releases: 5 s of every run here, up to three
      1 s timeouts in a cluster without egress. The executable is the one installed beside this
      interpreter, so the package metadata gives the same answer.
    - No dbt adapter in this process. Upstream builds one before starting dbt (profile, adapter,
      every macro: ~3 s) only to serve ``fetch_row_counts()`` / ``fetch_column_metadata()``,
      which this project does not call (dbt runs in its own process either way).
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def build_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "lakehouse": LakehouseResource(
            profile=dg.EnvVar("LAKEHOUSE_PROFILE"), data_dir=dg.EnvVar("LAKEHOUSE_DATA_DIR")
        ),
        "dlt": DagsterDltResource(),
        # The target comes from the project (LAKEHOUSE_PROFILE), the one the manifest was built for.
        "dbt": LakehouseDbtCliResource(
            project_dir=dbt_project(),
            # The dbt installed beside this interpreter, whether or not its venv is on PATH.
            dbt_executable=str(Path(sys.executable).with_name("dbt")),
        ),
    }
