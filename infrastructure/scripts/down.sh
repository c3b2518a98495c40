#!/usr/bin/env bash
# make down: delete the kind cluster (every pod, volume and Secret in it) and say what remains.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
require kind
if cluster_exists; then
  printf '==> deleting the kind cluster %s (all data in MinIO, Postgres and the Secrets)\n' "$CLUSTER"
  kind delete cluster --name "$CLUSTER"
else
  printf '==> no kind cluster named %s: nothing to delete\n' "$CLUSTER"
fi
NODE_IMAGE="$("${PY[@]}" -m lakehouse.platform.charts kind-image)"
# The same list as TEARDOWN.md's table (tests/infrastructure/test_docs.py compares them).
cat <<MSG
==> what remains on this machine (see TEARDOWN.md):
    - infrastructure/.secrets/credentials.env (useless now): \`rm -r infrastructure/.secrets\`
    - the code-location image $IMAGE: \`docker image rm $IMAGE\`
    - the Superset image $SUPERSET_IMAGE: \`docker image rm $SUPERSET_IMAGE\`
    - the kind node image (pulled by digest): \`docker image rm kindest/node@${NODE_IMAGE#*@}\`
    - upstream images pulled by Docker: \`docker image prune\`
    - Helm repository entries: \`helm repo remove minio polaris trino dagster superset\`
    - .data/  the embedded default's data, untouched by the cluster: \`make clean\`
MSG
