"""Cluster tooling in the project's own Python: Polaris bootstrap, secrets, pre-flight checks.

These run from a laptop (``make up``) or as Kubernetes Jobs from the code-location image.
"""
