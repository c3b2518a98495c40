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
cat <<MSG
==> what remains on this machine (see TEARDOWN.md):
    - infrastructure/.secrets/credentials.env   credentials of the deleted cluster (useless now;
                                                \`rm -r infrastructure/.secrets\` to remove)
    - the Docker image $IMAGE and the kind node image   (\`docker image rm $IMAGE\`)
    - .data/  the embedded default's data, untouched by the cluster (\`make clean\` removes it)
MSG
