#!/usr/bin/env bash
# make status: releases, pods, jobs, services and volumes of the platform, and what is not ready.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
require_cluster
require helm
printf '==> helm releases\n'
helm --kube-context "$CONTEXT" --namespace "$NS" list
printf '\n==> pods\n'
"${KUBECTL[@]}" get pods -o wide
printf '\n==> jobs\n'
"${KUBECTL[@]}" get jobs
printf '\n==> services\n'
"${KUBECTL[@]}" get services
printf '\n==> volumes\n'
"${KUBECTL[@]}" get pvc
NOT_READY="$("${KUBECTL[@]}" get pods --no-headers 2>/dev/null | awk '$3 != "Running" && $3 != "Completed" {print $1" ("$3")"}')"
if [[ -n "$NOT_READY" ]]; then
  printf '\n==> not running:\n%s\n' "$NOT_READY"
  printf '  -> kubectl --context %s -n %s describe pod <name>   (SETUP_GUIDE.md, Troubleshooting)\n' "$CONTEXT" "$NS"
  exit 1
fi
printf '\n==> every pod is running or completed\n'
