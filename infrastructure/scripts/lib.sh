# Shared by the platform scripts: settings, progress lines, errors that say what to do next.
# shellcheck shell=bash disable=SC2034  # its variables are used by the scripts that source it
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
INFRA="$REPO_ROOT/infrastructure"
CLUSTER="${LAKEHOUSE_CLUSTER:-lakehouse}"
CONTEXT="kind-$CLUSTER"
NS="lakehouse"
IMAGE="${LAKEHOUSE_IMAGE:-lakehouse-code:dev}"
# How to run the project's Python (platform.mk passes `uv run --frozen python`).
read -r -a PY <<< "${LAKEHOUSE_PY:-uv run --frozen python}"
KUBECTL=(kubectl --context "$CONTEXT" --namespace "$NS")

STEP=0
STEPS="${STEPS:-?}"
step() { STEP=$((STEP + 1)); printf '\n==> [%s/%s] %s\n' "$STEP" "$STEPS" "$*"; }
info() { printf '    %s\n' "$*"; }
ok() { printf '    ok: %s\n' "$*"; }
die() {
  printf '\nerror: %s\n' "$1" >&2
  shift
  for hint in "$@"; do printf '  -> %s\n' "$hint" >&2; done
  exit 1
}

require() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed" "run \`make preflight\` for what is missing and how to install it"
}

cluster_exists() { kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; }

require_cluster() {
  require kind
  require kubectl
  cluster_exists || die "the kind cluster '$CLUSTER' does not exist" "create it with \`make up\`"
}

# run_job FILE NAME: (re)create an idempotent Job and wait for it; show its logs if it fails.
run_job() {
  local file="$1" name="$2" timeout="${3:-600s}"
  "${KUBECTL[@]}" delete job "$name" --ignore-not-found --wait=true >/dev/null
  "${KUBECTL[@]}" apply -f "$file"
  info "waiting for job/$name (up to $timeout)"
  if ! "${KUBECTL[@]}" wait --for=condition=complete "job/$name" --timeout="$timeout"; then
    "${KUBECTL[@]}" logs "job/$name" --tail=50 >&2 || true
    die "job/$name did not complete" \
      "logs: kubectl --context $CONTEXT -n $NS logs job/$name" \
      "SETUP_GUIDE.md, Troubleshooting (Polaris grants, path-style S3, image pull on kind)"
  fi
  ok "job/$name completed"
}
