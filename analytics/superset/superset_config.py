"""Superset's configuration for the laptop (``make dashboards``), read by Superset when it starts
(``SUPERSET_CONFIG_PATH``). Everything machine- or secret-specific comes from the environment
that ``analytics.server`` gives the Superset process; nothing secret is in this file.
"""

import importlib
import os
from pathlib import Path

# The key that signs sessions and encrypts stored connection secrets: generated once into .env.
SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
# Superset's own metadata (users, charts, dashboards): a SQLite file in the data folder.
SQLALCHEMY_DATABASE_URI = os.environ["SUPERSET_METADATA_URI"]
# No example data, no telemetry, nothing fetched from the network.
SUPERSET_LOAD_EXAMPLES = False
# The server listens on loopback only; HTTPS redirects would break the plain-HTTP local URL.
TALISMAN_ENABLED = False


def duckdb_extension(name):
    """The extension binary shipped in this environment's duckdb-extension-<name> wheel
    (DuckDB's INSTALL would download it; see lakehouse/engine.py for the same rule)."""
    module = importlib.import_module(f"duckdb_extension_{name}")
    import duckdb

    return (
        Path(module.__file__).parent
        / "extensions"
        / f"v{duckdb.__version__}"
        / f"{name}.duckdb_extension"
    )


def DB_CONNECTION_MUTATOR(uri, params, username, security_manager, source):
    """DuckDB connections load the Iceberg extensions before any query: the views file's views
    call iceberg_scan. Superset passes the returned params to ``create_engine`` (hook documented
    in superset/config.py, called in superset/models/core.py at 6.1.0); duckdb-engine 0.17.0 runs
    ``LOAD <entry>`` for each ``preload_extensions`` entry on connect (duckdb_engine/__init__.py)."""
    if uri.get_backend_name() == "duckdb":
        connect_args = params.setdefault("connect_args", {})
        connect_args["preload_extensions"] = [
            f"'{duckdb_extension(name)}'" for name in ("avro", "iceberg")
        ]
    return uri, params
