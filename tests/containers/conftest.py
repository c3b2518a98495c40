"""Fixtures of the container tier (``@pytest.mark.containers``): they need a Docker engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.containers.docker_env import docker_status
from tests.containers.stack import Stack, running_stack


@pytest.fixture(scope="session")
def lakehouse_stack() -> Iterator[Stack]:
    """MinIO + Polaris (bootstrapped by lakehouse.platform.polaris) + Trino, for the session."""
    reachable, reason = docker_status()
    if not reachable:
        pytest.skip(reason)
    with running_stack() as stack:
        yield stack
