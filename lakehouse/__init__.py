"""Shared foundations of the lakehouse: settings, paths, layer names and the Iceberg catalog.

Everything that differs between the embedded default (``local``) and the cluster (``k8s``) is
decided here, once, from the environment; the other packages ask this one.
"""
