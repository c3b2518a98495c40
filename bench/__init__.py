"""Benchmarks: the embedded pipeline against a bare-DuckDB floor, measured in the same run."""
