"""Shared foundations of the lakehouse: settings, paths, layer names and the Iceberg catalog.

Everything that differs between the embedded default (``local``) and the cluster (``k8s``) is
decided here, once, from the environment; the other packages ask this one.
"""


def __getattr__(name: str):
    # `lakehouse.read` without importing pyiceberg for every user of lakehouse.settings.
    if name == "read":
        from lakehouse.reading import read

        return read
    raise AttributeError(f"module 'lakehouse' has no attribute {name!r}")
