"""Scores written the way the cluster's code location writes them: through a catalog where the
``ml`` namespace exists (the Polaris bootstrap made it) and creating a namespace is refused.

Polaris authorizes CREATE_NAMESPACE on the parent (the catalog, for a top-level namespace) before
the catalog looks for an existing one (apache/polaris 1.7.0,
runtime/service/.../catalog/iceberg/IcebergCatalogHandler.java, ``createNamespace`` calls
``authorizeCreateNamespaceUnderNamespaceOperationOrThrow`` first), and the code location's
principal, ingestion_writer, holds no NAMESPACE_CREATE (lakehouse/platform/polaris/plan.py). So
``create_namespace`` answers 403 even for ``ml``; the double below refuses it the same way.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.exceptions import ForbiddenError

from lakehouse.catalog import ensure_namespace
from lakehouse.data_health import SCHEMAS, write_figures
from lakehouse.layers import HEALTH_NAMESPACE, PUBLISH_NAMESPACE, Layer
from lakehouse.registry import registry
from ml.scoring import scores_table, write_scores
from ml.settings import SCORES_NAMESPACE, SCORES_TABLE

DAY = date(2024, 1, 3)


class NoNamespaceCreate:
    """A real SQL catalog whose principal may not create namespaces (Polaris' 403)."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog  # the test makes namespaces through it, as the bootstrap does

    def create_namespace(self, *args, **kwargs):
        raise ForbiddenError(
            "Principal 'ingestion_writer' is not authorized for op CREATE_NAMESPACE"
        )

    create_namespace_if_not_exists = create_namespace

    def __getattr__(self, name: str):
        return getattr(self._catalog, name)


@pytest.fixture
def cluster_like(tmp_path: Path) -> NoNamespaceCreate:
    catalog = load_catalog(
        "t", type="sql", uri=f"sqlite:///{tmp_path / 'c.db'}", warehouse=tmp_path.as_uri()
    )
    catalog.create_namespace(SCORES_NAMESPACE)  # what the bootstrap does
    return NoNamespaceCreate(catalog)


def scores(n: int):
    features = pd.DataFrame({"cutoff_date": [date(2024, 1, 4)] * n, "customer_id": range(1, n + 1)})
    return scores_table(features, pd.Series([0.25] * n), DAY, "customer_churn", 3)


def test_scores_are_written_without_creating_the_namespace(cluster_like) -> None:
    write_scores(cluster_like, scores(5), [DAY])  # creates the table
    write_scores(cluster_like, scores(4), [DAY])  # a re-run replaces the date
    rows = cluster_like.load_table(SCORES_TABLE).scan().to_arrow()
    assert rows.num_rows == 4
    assert set(rows.column("model_version").to_pylist()) == {3}


def test_the_double_refuses_what_polaris_refuses(cluster_like) -> None:
    with pytest.raises(ForbiddenError):
        cluster_like.create_namespace_if_not_exists(SCORES_NAMESPACE)


def test_every_writer_of_the_code_location_writes_without_creating_its_namespace(
    cluster_like,
) -> None:
    """The same 403 met the raw landing, the build registry and the data-health tables: each
    creates its namespace only when missing (lakehouse.catalog.ensure_namespace)."""
    for namespace in (Layer.RAW.value, PUBLISH_NAMESPACE, HEALTH_NAMESPACE):
        cluster_like._catalog.create_namespace(namespace)  # what the bootstrap does
    ensure_namespace(cluster_like, Layer.RAW.value)
    assert registry(cluster_like, create=True) is not None
    empty = {name: schema.as_arrow().empty_table() for name, schema in SCHEMAS.items()}
    write_figures(cluster_like, empty)
    assert {t[1] for t in cluster_like.list_tables(HEALTH_NAMESPACE)} == set(SCHEMAS)
