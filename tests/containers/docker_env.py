"""Is a Docker engine reachable? The container tier runs only where one is.

The check pings the engine through the docker SDK (what testcontainers itself uses): a ``docker``
client binary on PATH proves nothing, a daemon that answers ``/_ping`` does.
"""

from __future__ import annotations

from functools import cache

SKIP_REASON = "no Docker engine: container tier needs Docker (testcontainers); runs in the kind-e2e CI workflow"


def probe_docker(timeout: float = 5.0) -> tuple[bool, str]:
    """(reachable, reason). Honours DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH."""
    try:
        import docker
    except ImportError as exc:  # the dev dependency testcontainers brings it
        return False, f"{SKIP_REASON} [docker SDK not installed: {exc}]"
    try:
        client = docker.from_env(timeout=int(max(timeout, 1)))
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # DockerException, requests' ConnectionError, ...
        detail = " ".join(str(exc).split())[:300]
        return False, f"{SKIP_REASON} [{type(exc).__name__}: {detail}]"
    return True, "Docker engine reachable"


@cache
def docker_status() -> tuple[bool, str]:
    """``probe_docker`` once per test session."""
    return probe_docker()
