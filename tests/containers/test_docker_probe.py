"""The container tier's skip logic, checked everywhere (no Docker needed)."""

from __future__ import annotations

import socket

import pytest

from tests.containers.docker_env import SKIP_REASON, probe_docker


def test_unreachable_engine_is_reported_with_a_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-such-docker.sock'}")
    reachable, reason = probe_docker(timeout=1)
    assert reachable is False
    assert reason.startswith(SKIP_REASON)
    assert "no-such-docker.sock" in reason or "No such file" in reason


def test_closed_tcp_port_is_not_an_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{port}")
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    reachable, reason = probe_docker(timeout=1)
    assert reachable is False
    assert reason.startswith(SKIP_REASON) and "Error" in reason


def test_a_docker_binary_alone_does_not_count(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """A client on PATH without a daemon must still skip (the check pings, it does not look)."""
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\necho 'Docker version 99'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'absent.sock'}")
    assert probe_docker(timeout=1)[0] is False
