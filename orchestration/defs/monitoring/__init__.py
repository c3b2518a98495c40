"""Failure visibility: asset checks on raw tables and a run-failure sensor."""
