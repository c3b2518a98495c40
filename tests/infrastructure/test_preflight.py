"""lakehouse.platform.preflight with fake commands: no Docker, kind or helm needed."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from lakehouse.platform import preflight

GIB = preflight.GIB
VERSIONS = {
    "docker": "28.2.2\n",
    "kind": "kind v0.30.0 go1.24.6 linux/amd64\n",
    "kubectl": json.dumps({"clientVersion": {"gitVersion": "v1.34.1"}}),
    "helm": "v3.18.4+gd80839c\n",
}


def fake_runner(versions=VERSIONS, mem=16 * GIB, cpus=8, fail=()):
    def run(cmd: Sequence[str]) -> str:
        tool = cmd[0]
        if tool in fail:
            raise RuntimeError("Cannot connect to the Docker daemon")
        if cmd[:2] == ["docker", "info"]:
            return json.dumps(
                {"MemTotal": mem, "NCPU": cpus, "DockerRootDir": "/nonexistent/docker"}
            )
        return versions[tool]

    return run


def all_present(_: str) -> str:
    return "/usr/bin/x"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kind v0.30.0 go1.24.6 linux/amd64", (0, 30, 0)),
        ("v1.34.1", (1, 34, 1)),
        ("28.2.2", (28, 2, 2)),
        ("v3.18.4+gd80839c", (3, 18, 4)),
        ("v4.0", (4, 0)),
        ("no version here", None),
    ],
)
def test_parse_version(text, expected) -> None:
    assert preflight.parse_version(text) == expected


def test_everything_present_and_big_enough_passes() -> None:
    checks = preflight.run_checks(fake_runner(), all_present)
    assert [c for c in checks if not c.ok] == []
    assert {c.name for c in checks} >= {
        "docker",
        "kind",
        "kubectl",
        "helm",
        "memory for Docker",
        "CPUs for Docker",
    }


def test_missing_tool_says_how_to_install_it() -> None:
    check = preflight.check_tool("helm", fake_runner(), lambda name: None)
    assert not check.ok and "not found" in check.detail and "helm.sh" in check.hint


def test_docker_client_without_engine_is_reported() -> None:
    check = preflight.check_tool("docker", fake_runner(fail=("docker",)), all_present)
    assert not check.ok and "start Docker" in check.hint


def test_old_version_fails() -> None:
    versions = {**VERSIONS, "kind": "kind v0.20.0 go1.20 linux/amd64"}
    check = preflight.check_tool("kind", fake_runner(versions), all_present)
    assert not check.ok and "older than 0.30.0" in check.detail


def test_too_little_memory_or_cpu_fails_with_a_hint() -> None:
    checks = {
        c.name: c for c in preflight.run_checks(fake_runner(mem=4 * GIB, cpus=2), all_present)
    }
    assert not checks["memory for Docker"].ok and "Resources" in checks["memory for Docker"].hint
    assert not checks["CPUs for Docker"].ok


def test_disk_threshold() -> None:
    assert preflight.check_disk(30 * GIB, "/").ok
    low = preflight.check_disk(5 * GIB, "/")
    assert not low.ok and "docker system prune" in low.hint


def test_requirement_matches_the_setup_guide() -> None:
    guide = (preflight.Path(__file__).resolve().parents[2] / "SETUP_GUIDE.md").read_text()
    assert f"{preflight.REQUIRED_MEMORY_GIB:g} GiB" in guide
    assert f"{preflight.REQUIRED_CPUS} CPUs" in guide
    assert f"{preflight.REQUIRED_DISK_GIB:g} GiB" in guide


def test_main_exit_code(monkeypatch, capsys) -> None:
    monkeypatch.setattr(
        preflight, "run_checks", lambda: [preflight.Check("kind", False, "not found", "install")]
    )
    assert preflight.main([]) == 1
    assert "FAIL" in capsys.readouterr().out
    monkeypatch.setattr(preflight, "run_checks", lambda: [preflight.Check("kind", True, "0.30.0")])
    assert preflight.main([]) == 0
