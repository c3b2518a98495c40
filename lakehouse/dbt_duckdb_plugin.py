"""dbt-duckdb plugin: makes the raw Iceberg tables visible to dbt as ``raw.<table>`` views.

Declared in ``transformations/profiles.yml`` (``plugins: - module: lakehouse.dbt_duckdb_plugin``),
so a dbt source ``raw.orders`` resolves to the same relation name on DuckDB as on Trino, where
``raw`` is the Iceberg namespace itself.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from lakehouse.catalog import get_catalog
from lakehouse.engine import load_extensions, refresh_layer_views
from lakehouse.settings import Settings


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self._catalog = get_catalog(Settings.from_env())

    def configure_connection(self, conn) -> None:
        load_extensions(conn)
        refresh_layer_views(conn, self._catalog)
