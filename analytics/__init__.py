"""Dashboards as code over the gold marts, for Apache Superset (see analytics/README.md)."""
