#!/usr/bin/env bash
# make port-forward: every UI and API on localhost until Ctrl-C. Stops only the port-forwards it
# started (by their process ids).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
require_cluster

# service local:remote purpose
FORWARDS=(
  "svc/trino 8080:8080 Trino UI and API"
  "svc/minio 9000:9000 MinIO S3 API"
  "svc/minio-console 9001:9001 MinIO console"
  "svc/dagster-webserver 3000:3000 Dagster UI"
  "svc/polaris 8181:8181 Polaris REST API"
  "svc/dbt-docs 8081:8081 dbt docs"
)
# SeaweedFS has no MinIO console (its S3 API is still svc/minio, the alias Service).
S3_BACKEND="$("${PY[@]}" -m lakehouse.platform.charts s3-backend)"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

printf '==> forwarding (Ctrl-C stops them all)\n'
for entry in "${FORWARDS[@]}"; do
  read -r target ports purpose <<< "$entry"
  if [[ "$S3_BACKEND" != "minio" && "$target" == "svc/minio-console" ]]; then continue; fi
  local_port="${ports%%:*}"
  if (exec 3<>"/dev/tcp/127.0.0.1/$local_port") 2>/dev/null; then
    printf '    skip %-24s port %s is already in use on this machine\n' "$target" "$local_port"
    continue
  fi
  "${KUBECTL[@]}" port-forward "$target" "$ports" >/dev/null 2>&1 &
  PIDS+=("$!")
  printf '    http://localhost:%-6s %s (%s)\n' "$local_port" "$purpose" "$target"
done
[[ ${#PIDS[@]} -gt 0 ]] || die "nothing to forward" "free the ports above or stop the other port-forward"
wait
