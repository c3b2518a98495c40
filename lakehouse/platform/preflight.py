"""Pre-flight checks for ``make up``: tools present at usable versions, enough memory/CPU/disk.

``python -m lakehouse.platform.preflight`` prints one line per check and exits non-zero when a
requirement is not met, saying what to do about it. The requirement is the documented laptop
sizing (SETUP_GUIDE.md, "Cluster requirements"): what Docker can give the kind node, not what the
host has, is what counts, so memory and CPUs are read from ``docker info``.

Every check takes its inputs as arguments (a command runner, numbers), so the logic is tested
without Docker (tests/infrastructure/test_preflight.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

GIB = 1024**3

# The documented requirement (SETUP_GUIDE.md). Requests of all pods at peak (one run pod) are
# ~1.8 CPU / ~6.5 GiB, plus ~1 CPU / ~1 GiB for the kind control plane; images need ~9 GB.
# Docker Desktop's VM set to 8 GB reports a little less as MemTotal (~7.7 GiB: the kernel keeps
# some), so the check asks for what such a VM really reports, not 8.0.
REQUIRED_MEMORY_GIB = 7.5
REQUIRED_CPUS = 4
REQUIRED_DISK_GIB = 20.0

# Minimum tool versions: kind that ships the pinned node image, a kubectl within one minor of
# Kubernetes 1.34, Helm 3.14+ (or 4), a Docker engine that kind supports.
MIN_VERSIONS: dict[str, tuple[int, ...]] = {
    "docker": (20, 10),
    "kind": (0, 30, 0),
    "kubectl": (1, 33),
    "helm": (3, 14),
}

INSTALL_HINTS = {
    "docker": "install Docker Desktop or Docker Engine and start it (https://docs.docker.com/get-docker/)",
    "kind": "install kind v0.30.0+ (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)",
    "kubectl": "install kubectl 1.33+ (https://kubernetes.io/docs/tasks/tools/)",
    "helm": "install Helm 3.14+ (https://helm.sh/docs/intro/install/)",
}

Runner = Callable[[Sequence[str]], str]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        text = f"[{mark}] {self.name}: {self.detail}"
        if not self.ok and self.hint:
            text += f"\n       -> {self.hint}"
        return text


def run(cmd: Sequence[str]) -> str:
    """Run a command and return its stdout; raise if it is missing or fails."""
    completed = subprocess.run(list(cmd), capture_output=True, text=True, timeout=30, check=False)
    if completed.returncode != 0:
        raise RuntimeError(
            (completed.stderr or completed.stdout).strip() or f"exit {completed.returncode}"
        )
    return completed.stdout


def parse_version(text: str) -> tuple[int, ...] | None:
    """First dotted version number in ``text`` (``v1.34.0``, ``kind v0.30.0 go1.24``, ``28.2.2``)."""
    match = re.search(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def _fmt(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


VERSION_COMMANDS: dict[str, list[str]] = {
    # The server version proves the engine is running, not only that the client is installed.
    "docker": ["docker", "version", "--format", "{{.Server.Version}}"],
    "kind": ["kind", "version"],
    "kubectl": ["kubectl", "version", "--client", "-o", "json"],
    "helm": ["helm", "version", "--short"],
}


def check_tool(
    name: str, runner: Runner = run, which: Callable[[str], str | None] = shutil.which
) -> Check:
    if which(name) is None:
        return Check(name, False, "not found on PATH", INSTALL_HINTS[name])
    try:
        output = runner(VERSION_COMMANDS[name])
    except Exception as exc:
        hint = INSTALL_HINTS[name]
        if name == "docker":
            hint = "the Docker client is installed but no engine answers: start Docker, then retry"
        return Check(name, False, f"version check failed ({exc})", hint)
    if name == "kubectl":
        with contextlib.suppress(ValueError, KeyError):
            output = json.loads(output)["clientVersion"]["gitVersion"]
    version = parse_version(output)
    if version is None:
        return Check(
            name, False, f"cannot read a version from {output.strip()!r}", INSTALL_HINTS[name]
        )
    minimum = MIN_VERSIONS[name]
    if version < minimum:
        return Check(
            name, False, f"{_fmt(version)} is older than {_fmt(minimum)}", INSTALL_HINTS[name]
        )
    return Check(name, True, _fmt(version))


def check_memory(total_bytes: int, required_gib: float = REQUIRED_MEMORY_GIB) -> Check:
    gib = total_bytes / GIB
    ok = gib >= required_gib
    hint = (
        f"give Docker at least {required_gib:g} GiB (Docker Desktop: Settings > Resources > Memory), "
        "or close other containers"
    )
    return Check("memory for Docker", ok, f"{gib:.1f} GiB (need {required_gib:g} GiB)", hint)


def check_cpus(cpus: int, required: int = REQUIRED_CPUS) -> Check:
    hint = f"give Docker at least {required} CPUs (Docker Desktop: Settings > Resources > CPUs)"
    return Check("CPUs for Docker", cpus >= required, f"{cpus} (need {required})", hint)


def check_disk(free_bytes: int, path: str, required_gib: float = REQUIRED_DISK_GIB) -> Check:
    gib = free_bytes / GIB
    hint = f"free at least {required_gib:g} GiB under {path} (`docker system prune` removes unused images)"
    return Check(
        "free disk",
        gib >= required_gib,
        f"{gib:.1f} GiB at {path} (need {required_gib:g} GiB)",
        hint,
    )


def docker_resources(runner: Runner = run) -> tuple[int, int, str]:
    """(memory bytes, CPUs, data root) that the Docker engine reports."""
    info = json.loads(runner(["docker", "info", "--format", "{{json .}}"]))
    return int(info["MemTotal"]), int(info["NCPU"]), str(info.get("DockerRootDir") or "/")


def disk_free(path: str) -> tuple[int, str]:
    """Free bytes at ``path`` or, if it is not visible here (Docker Desktop's VM), at the repo."""
    candidate = Path(path)
    if not candidate.exists():
        candidate = Path.cwd()
    return shutil.disk_usage(candidate).free, str(candidate)


def run_checks(
    runner: Runner = run, which: Callable[[str], str | None] = shutil.which
) -> list[Check]:
    checks = [check_tool(name, runner, which) for name in ("docker", "kind", "kubectl", "helm")]
    if checks[0].ok:
        try:
            memory, cpus, root = docker_resources(runner)
        except Exception as exc:
            checks.append(Check("docker info", False, str(exc), "check that `docker info` works"))
        else:
            free, where = disk_free(root)
            checks += [check_memory(memory), check_cpus(cpus), check_disk(free, where)]
    else:
        free, where = disk_free(str(Path.cwd()))
        checks.append(check_disk(free, where))
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lakehouse.platform.preflight", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    args = parser.parse_args(argv)
    checks = run_checks()
    if args.json:
        print(json.dumps([check.__dict__ for check in checks], indent=2))
    else:
        print("==> pre-flight checks (requirement: SETUP_GUIDE.md, 'Cluster requirements')")
        for check in checks:
            print("    " + check.line().replace("\n", "\n    "))
    failed = [check for check in checks if not check.ok]
    if failed:
        print(
            f"==> {len(failed)} check(s) failed: fix the lines marked FAIL, then run `make up` again.",
            file=sys.stderr,
        )
        return 1
    print("==> all pre-flight checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
