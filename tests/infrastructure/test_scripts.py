"""The platform scripts run end to end against stub docker/kind/kubectl/helm that record their calls.

No cluster is involved: the stubs answer like the real tools (versions, `docker info`, an empty
cluster list), so what is tested is the scripts' control flow - the order of the steps, the pinned
arguments they pass, and that a failing step stops `make up` with a message saying what to do.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.infrastructure import infra_checks as checks

SCRIPTS = checks.INFRA / "scripts"
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")

STUB = r"""#!/usr/bin/env bash
echo "{name} $*" >> "$STUB_LOG"
{body}
exit 0
"""
BODIES = {
    "docker": """
if [[ "$1" == "version" ]]; then echo "28.2.2"; fi
if [[ "$1" == "info" ]]; then echo '{docker_info}'; fi
""",
    "kind": """
if [[ "$1" == "version" ]]; then echo "kind v0.30.0 go1.24.6 linux/amd64"; fi
if [[ "$1 $2" == "get clusters" ]]; then cat "$STUB_DIR/clusters" 2>/dev/null; fi
""",
    "kubectl": """
if [[ "$*" == *"version --client"* ]]; then echo '{{"clientVersion": {{"gitVersion": "v1.34.1"}}}}'; fi
if [[ "$*" == *"get deployment -l component=user-deployments -o name"* ]]; then
  echo "deployment.apps/dagster-dagster-user-deployments-lakehouse"
fi
# Jobs: STUB_FAIL_JOB has condition Failed, the others Complete (STUB_PENDING_JOB: no condition
# yet). Like the real kubectl, `wait --for=condition=complete` on a failed Job does not return
# early: it sits until its timeout (here STUB_WAIT_SECONDS), then exits 1.
if [[ "$*" == *" get job/"*" -o jsonpath="* ]]; then
  args="$*"; job="${{args##* get job/}}"; job="${{job%% *}}"
  if [[ "$job" == "${{STUB_PENDING_JOB:-}}" ]]; then exit 0; fi
  if [[ "$job" == "${{STUB_FAIL_JOB:-}}" ]]; then echo "FailureTarget Failed "; else echo "Complete "; fi
fi
if [[ -n "${{STUB_FAIL_JOB:-}}" && "$*" == *"wait --for=condition=complete job/$STUB_FAIL_JOB "* ]]; then
  sleep "${{STUB_WAIT_SECONDS:-30}}"
  exit 1
fi
if [[ "$*" == *" logs job/"* ]]; then
  echo "stub log: bootstrap failed: POST /principals/x/rotate -> 403"
fi
if [[ "$*" == *" port-forward "* ]]; then
  # kubectl's own message for a Service that does not exist, then exit 1 at once.
  if [[ -n "${{STUB_MISSING_SERVICE:-}}" && "$*" == *" port-forward svc/$STUB_MISSING_SERVICE "* ]]; then
    echo 'Error from server (NotFound): services "'"$STUB_MISSING_SERVICE"'" not found' >&2
    exit 1
  fi
  sleep "${{STUB_FORWARD_SECONDS:-2}}"
fi
""",
    "helm": """
if [[ "$1" == "version" ]]; then echo "v3.18.4+gd80839c"; fi
""",
}


PREFLIGHT_FIXED_DISK = (
    "import lakehouse.platform.preflight as p; "
    "p.disk_free = lambda path: (100 * p.GIB, path); "
    "raise SystemExit(p.main([]))"
)


@pytest.fixture
def stubs(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    info = json.dumps({"MemTotal": 16 * 1024**3, "NCPU": 8, "DockerRootDir": "/"})
    for name, body in BODIES.items():
        path = bin_dir / name
        path.write_text(STUB.format(name=name, body=body.format(docker_info=info)))
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    # The project's Python: real, except the Secrets step (it needs a Kubernetes API).
    py = bin_dir / "lakehouse-py"
    py.write_text(
        "#!/usr/bin/env bash\n"
        'echo "python $*" >> "$STUB_LOG"\n'
        'if [[ "$*" == *lakehouse.platform.secrets* ]]; then exit 0; fi\n'
        # The bundle builder (analytics/) is tested on its own; here only that up.sh calls it.
        'if [[ "$*" == *analytics.cluster* ]]; then exit 0; fi\n'
        # Real pre-flight logic, but this machine's free disk must not decide the test.
        'if [[ "$*" == "-m lakehouse.platform.preflight" ]]; then\n'
        f'  exec "{sys.executable}" -c "{PREFLIGHT_FIXED_DISK}"\n'
        "fi\n"
        f'exec "{sys.executable}" "$@"\n'
    )
    py.chmod(py.stat().st_mode | stat.S_IEXEC)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "STUB_LOG": str(tmp_path / "calls.log"),
        "STUB_DIR": str(tmp_path),
        "LAKEHOUSE_PY": str(py),
        "PYTHONPATH": str(checks.INFRA.parent),
        "JOB_POLL_SECONDS": "1",
    }
    return env


def run_script(name: str, env: dict[str, str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPTS / name)],
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=checks.INFRA.parent,
    )


def calls(env: dict[str, str]) -> list[str]:
    return Path(env["STUB_LOG"]).read_text().splitlines()


def test_up_runs_every_step_in_order_with_pinned_arguments(stubs) -> None:
    result = run_script("up.sh", stubs)
    assert result.returncode == 0, result.stdout + result.stderr
    log = calls(stubs)
    node_image = "kindest/node:v1.34.0@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a"
    sequence = [
        "python -m lakehouse.platform.preflight",
        f"kind create cluster --name lakehouse --config {checks.INFRA}/kind/cluster.yaml --image {node_image}",
        "docker build --provenance=false -f",
        "docker save lakehouse-code:dev -o",
        "kind load image-archive",
        f"docker build --provenance=false -f {checks.INFRA}/docker/superset.Dockerfile -t lakehouse-superset:dev {checks.INFRA}/docker",
        "docker save lakehouse-superset:dev -o",
        "kind load image-archive",
        "kubernetes/namespace.yaml",
        "python -m lakehouse.platform.secrets generate --context kind-lakehouse",
        "kubernetes/network-policies.yaml",
        "kubernetes/postgres.yaml",
        "exec statefulset/lakehouse-postgres -- sh /docker-entrypoint-initdb.d/20-superset.sh",
        "helm upgrade --install minio minio/minio --version 5.4.0",
        "kubernetes/polaris-realm-bootstrap-job.yaml",
        "helm upgrade --install polaris polaris/polaris --version 1.7.0",
        "kubernetes/polaris-bootstrap-job.yaml",
        "helm upgrade --install trino trino/trino --version 1.42.2",
        "helm upgrade --install dagster dagster/dagster --version 1.13.27",
        "rollout restart deployment.apps/dagster-dagster-user-deployments-lakehouse",
        "kubernetes/dbt-docs.yaml",
        "python -m analytics.cluster configmap --out",
        "apply --server-side --field-manager=lakehouse-up -f",
        "helm upgrade --install superset superset/superset --version 0.15.0",
        "python -m lakehouse.platform.secrets export --context kind-lakehouse",
    ]
    position = 0
    for needle in sequence:
        found = next((i for i in range(position, len(log)) if needle in log[i]), None)
        assert found is not None, f"{needle!r} missing or out of order"
        position = found
    for line in log:
        if line.startswith("helm upgrade"):
            assert "--wait" in line and "--kube-context kind-lakehouse" in line
            assert "--namespace lakehouse" in line and "--values" in line
        if line.startswith("kubectl ") and "version" not in line:
            assert "--context kind-lakehouse" in line
    assert "make port-forward" in result.stdout
    # Every step line says "[n/N]" with N the real number of steps (issue 12, defect 8).
    counters = re.findall(r"==> \[(\d+)/(\d+)\]", result.stdout)
    assert counters and counters[-1][0] == counters[-1][1] == str(len(counters))
    assert not any("kind load docker-image" in line for line in log)


def test_up_keeps_an_existing_cluster(stubs) -> None:
    Path(stubs["STUB_DIR"], "clusters").write_text("lakehouse\n")
    result = run_script("up.sh", stubs)
    assert result.returncode == 0, result.stderr
    assert not any(line.startswith("kind create") for line in calls(stubs))
    assert "already exists (kept)" in result.stdout


def test_a_failing_job_stops_up_and_says_what_to_do(stubs) -> None:
    result = run_script("up.sh", stubs, STUB_FAIL_JOB="polaris-bootstrap")
    assert result.returncode != 0
    assert "job/polaris-bootstrap failed" in result.stderr
    assert (
        "kubectl --context kind-lakehouse -n lakehouse logs job/polaris-bootstrap" in result.stderr
    )
    assert not any("helm upgrade --install trino" in line for line in calls(stubs))


def test_failed_preflight_stops_before_the_cluster(stubs) -> None:
    bin_dir = Path(stubs["PATH"].split(":")[0])
    (bin_dir / "helm").unlink()
    result = run_script("up.sh", stubs)
    assert result.returncode != 0
    assert "pre-flight checks failed" in result.stderr
    assert not any(line.startswith("kind create") for line in calls(stubs))


def test_down_deletes_the_cluster_and_lists_what_remains(stubs) -> None:
    Path(stubs["STUB_DIR"], "clusters").write_text("lakehouse\n")
    result = run_script("down.sh", stubs)
    assert result.returncode == 0
    assert "kind delete cluster --name lakehouse" in calls(stubs)
    assert "infrastructure/.secrets/credentials.env" in result.stdout


def test_down_without_a_cluster_is_fine(stubs) -> None:
    result = run_script("down.sh", stubs)
    assert result.returncode == 0
    assert "nothing to delete" in result.stdout


def test_status_without_a_cluster_says_how_to_create_it(stubs) -> None:
    result = run_script("status.sh", stubs)
    assert result.returncode != 0
    assert "make up" in result.stderr


@pytest.mark.skipif(os.name != "posix", reason="posix only")
def test_scripts_are_executable() -> None:
    for name in ("up.sh", "down.sh", "port-forward.sh", "status.sh"):
        assert os.access(SCRIPTS / name, os.X_OK), name


def _run_job(env: dict[str, str], *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """`run_job` of lib.sh on its own, with the stub kubectl on PATH."""
    script = f'source "{SCRIPTS}/lib.sh"; run_job "$@"'
    return subprocess.run(
        ["bash", "-c", script, "run_job", *args],
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=checks.INFRA.parent,
    )


def test_run_job_fails_at_once_on_a_failed_job_and_prints_its_logs(stubs) -> None:
    """Issue 12, defect 5: a failed Job used to be reported only after the whole wait."""
    started = time.monotonic()
    result = _run_job(
        stubs, "job.yaml", "polaris-bootstrap", "900s", STUB_FAIL_JOB="polaris-bootstrap"
    )
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert elapsed < 10, f"took {elapsed:.0f}s: it waited instead of failing fast"
    assert "job/polaris-bootstrap failed" in result.stderr
    assert "stub log: bootstrap failed" in result.stderr  # the Job's logs are printed
    assert "logs job/polaris-bootstrap --all-containers" in "\n".join(calls(stubs))


def test_run_job_waits_for_a_running_job_then_times_out_with_its_logs(stubs) -> None:
    result = _run_job(stubs, "job.yaml", "slow", "2s", STUB_PENDING_JOB="slow")
    assert result.returncode != 0
    assert "job/slow did not complete within 2s" in result.stderr
    assert "stub log" in result.stderr
    polls = [line for line in calls(stubs) if " get job/slow " in line]
    assert len(polls) >= 2


def test_run_job_returns_on_complete(stubs) -> None:
    result = _run_job(stubs, "job.yaml", "fine", "60s")
    assert result.returncode == 0, result.stderr
    assert "job/fine completed" in result.stdout
