#!/usr/bin/env bash
# make port-forward: every UI and API on localhost until Ctrl-C. Stops only the port-forwards it
# started (by their process ids). What is forwarded comes from the `services:` table of
# infrastructure/helm/charts.yaml (Service names as the charts create them; see the comments there).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
require_cluster

# One line per forward: svc/<service> <local>:<remote> <purpose> (only the selected S3 backend's).
mapfile -t FORWARDS < <("${PY[@]}" -m lakehouse.platform.charts forwards)
[[ ${#FORWARDS[@]} -gt 0 ]] || die "no forwards in infrastructure/helm/charts.yaml (services:)"
LOG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/lakehouse-port-forward.XXXXXX")"

PIDS=()
LOGS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

printf '==> forwarding (Ctrl-C stops them all; kubectl output in %s)\n' "$LOG_DIR"
for entry in "${FORWARDS[@]}"; do
  read -r target ports purpose <<< "$entry"
  local_port="${ports%%:*}"
  if (exec 3<>"/dev/tcp/127.0.0.1/$local_port") 2>/dev/null; then
    printf '    skip %-32s port %s is already in use on this machine\n' "$target" "$local_port"
    continue
  fi
  # kubectl's messages go to a log per forward (never /dev/null): a forward that dies says why.
  log="$LOG_DIR/${target#svc/}.log"
  "${KUBECTL[@]}" port-forward "$target" "$ports" > "$log" 2>&1 &
  PIDS+=("$!")
  LOGS+=("$target $log")
  printf '    http://localhost:%-6s %s (%s)\n' "$local_port" "$purpose" "$target"
done
[[ ${#PIDS[@]} -gt 0 ]] || die "nothing to forward" "free the ports above or stop the other port-forward"

# A forward whose Service is missing exits at once: report it with kubectl's own message.
sleep "${PORT_FORWARD_SETTLE:-3}"
FAILED=0
for i in "${!PIDS[@]}"; do
  if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
    FAILED=1
    read -r target log <<< "${LOGS[$i]}"
    printf '\nerror: the forward of %s stopped; kubectl said:\n' "$target" >&2
    sed 's/^/    /' "$log" >&2
  fi
done
if [[ $FAILED -eq 1 ]]; then
  die "a port-forward stopped" "\`make status\` (is every pod running?)" \
      "the Service names come from infrastructure/helm/charts.yaml (services:)"
fi
wait
