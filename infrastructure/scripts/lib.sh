# Shared by the platform scripts: settings, progress lines, errors that say what to do next.
# shellcheck shell=bash disable=SC2034  # its variables are used by the scripts that source it
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
INFRA="$REPO_ROOT/infrastructure"
CLUSTER="${LAKEHOUSE_CLUSTER:-lakehouse}"
CONTEXT="kind-$CLUSTER"
NS="lakehouse"
IMAGE="${LAKEHOUSE_IMAGE:-lakehouse-code:dev}"
SUPERSET_IMAGE="${LAKEHOUSE_SUPERSET_IMAGE:-lakehouse-superset:dev}"
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

# job_state NAME: the true conditions of job/NAME, space separated (e.g. "Complete", "Failed").
job_state() {
  "${KUBECTL[@]}" get "job/$1" \
    -o 'jsonpath={range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}' 2>/dev/null || true
}

# job_failed NAME WHY: print the Job's pods and logs, then stop with what to do.
job_failed() {
  local name="$1" why="$2"
  printf '\n==> job/%s %s; its pods and logs:\n' "$name" "$why" >&2
  "${KUBECTL[@]}" get pods -l "job-name=$name" >&2 || true
  "${KUBECTL[@]}" logs "job/$name" --all-containers --tail=100 >&2 || true
  die "job/$name $why" \
    "logs: kubectl --context $CONTEXT -n $NS logs job/$name" \
    "SETUP_GUIDE.md, Troubleshooting (Polaris grants, path-style S3, image pull on kind)"
}

# run_job FILE NAME [TIMEOUT]: (re)create an idempotent Job and wait until it completes. Stops at
# once when the Job fails (condition Failed, or FailureTarget while its pods are torn down) instead
# of waiting out TIMEOUT (`kubectl wait --for=condition=complete` alone would sit on a failed Job
# until its timeout), and prints the Job's logs either way.
run_job() {
  local file="$1" name="$2" timeout="${3:-600s}"
  local limit="${timeout%s}" poll="${JOB_POLL_SECONDS:-5}" waited=0 state
  "${KUBECTL[@]}" delete job "$name" --ignore-not-found --wait=true >/dev/null
  "${KUBECTL[@]}" apply -f "$file"
  info "waiting for job/$name (up to $timeout; stops at the first Failed condition)"
  while :; do
    state=" $(job_state "$name") "
    case "$state" in
      *" Complete "*)
        ok "job/$name completed"
        return 0
        ;;
      *" Failed "* | *" FailureTarget "*) job_failed "$name" "failed" ;;
    esac
    if ((waited >= limit)); then job_failed "$name" "did not complete within $timeout"; fi
    sleep "$poll"
    waited=$((waited + poll))
  done
}

# build_and_load DOCKERFILE IMAGE CONTEXT: docker build, then load the image into the kind node.
# --provenance=false: no attestation manifests. With Docker's containerd image store (the default
# of Docker Desktop and Engine 29) `kind load docker-image` fails on an image that carries them
# ("ctr: content digest ... not found", kubernetes-sigs/kind#3795); loading a `docker save` archive
# through kind's image-archive loader avoids the image store's export path as well (kind#4247).
build_and_load() {
  local dockerfile="$1" image="$2" context="$3" archive
  docker build --provenance=false -f "$dockerfile" -t "$image" "$context" \
    || die "docker build of $image failed" "read the build log above; \`uv lock --check\` must pass for \`uv sync --frozen\`"
  archive="$(mktemp "${TMPDIR:-/tmp}/lakehouse-image.XXXXXX.tar")"
  docker save "$image" -o "$archive" || { rm -f "$archive"; die "docker save $image failed"; }
  kind load image-archive "$archive" --name "$CLUSTER" \
    || { rm -f "$archive"; die "kind could not load $image into the node" "SETUP_GUIDE.md, Troubleshooting: image pull on kind"; }
  rm -f "$archive"
  ok "$image loaded into the kind node (pods use imagePullPolicy IfNotPresent)"
}
