#!/usr/bin/env bash
# make up: pre-flight, kind cluster, image, namespace, secrets, policies, then every release in
# the order of infrastructure/helm/charts.yaml, waiting for each; ends with how to reach the UIs.
# Idempotent: run it again after a code change to rebuild and reload the code-location image.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
# Counted, not typed: the number of `step` lines below (a typed 14 drifted from 15 steps).
STEPS="$(grep -c "^step " "${BASH_SOURCE[0]}")"

step "pre-flight checks"
"${PY[@]}" -m lakehouse.platform.preflight || die "pre-flight checks failed" "fix the FAIL lines above, then run \`make up\` again"

step "kind cluster '$CLUSTER'"
if cluster_exists; then
  ok "already exists (kept)"
else
  NODE_IMAGE="$("${PY[@]}" -m lakehouse.platform.charts kind-image)"
  info "creating it with $NODE_IMAGE (a few minutes the first time)"
  kind create cluster --name "$CLUSTER" --config "$INFRA/kind/cluster.yaml" --image "$NODE_IMAGE" --wait 180s \
    || die "kind could not create the cluster" "is Docker running with enough memory? \`make preflight\`" "\`kind delete cluster --name $CLUSTER\` and retry"
fi
kubectl --context "$CONTEXT" cluster-info >/dev/null || die "kubectl cannot reach context $CONTEXT" "\`kind export kubeconfig --name $CLUSTER\`"

step "images: code location $IMAGE, Superset $SUPERSET_IMAGE"
build_and_load "$INFRA/docker/Dockerfile" "$IMAGE" .
# Superset's image copies nothing from the repository: its build context is its own folder.
build_and_load "$INFRA/docker/superset.Dockerfile" "$SUPERSET_IMAGE" "$INFRA/docker"

step "namespace $NS (Pod Security Standard: restricted)"
kubectl --context "$CONTEXT" apply -f "$INFRA/kubernetes/namespace.yaml"

step "secrets (random, never rotated unless asked)"
"${PY[@]}" -m lakehouse.platform.secrets generate --context "$CONTEXT"

step "network policies (default deny + documented allows)"
"${KUBECTL[@]}" apply -f "$INFRA/kubernetes/network-policies.yaml"

step "postgres (Polaris, Dagster and Superset databases)"
"${KUBECTL[@]}" apply -f "$INFRA/kubernetes/postgres.yaml"
"${KUBECTL[@]}" rollout status statefulset/lakehouse-postgres --timeout=300s \
  || die "postgres did not become ready" "kubectl --context $CONTEXT -n $NS logs statefulset/lakehouse-postgres"
# Idempotent (initdb ran it on a new volume already): gives a cluster made before Superset its
# database, and the role the password of the Secret.
"${KUBECTL[@]}" exec statefulset/lakehouse-postgres -- sh /docker-entrypoint-initdb.d/20-superset.sh \
  || die "could not create Superset's database" "kubectl --context $CONTEXT -n $NS logs statefulset/lakehouse-postgres"

S3_BACKEND="$("${PY[@]}" -m lakehouse.platform.charts s3-backend)"
step "S3 store ($S3_BACKEND) and the 'lakehouse' bucket"
if [[ "$S3_BACKEND" == "seaweedfs" ]]; then
  "${KUBECTL[@]}" apply -f "$INFRA/kubernetes/s3-alias-seaweedfs.yaml"
fi
"${PY[@]}" -m lakehouse.platform.charts install s3 --context "$CONTEXT"

step "polaris realm bootstrap (admin tool, idempotent)"
run_job "$INFRA/kubernetes/polaris-realm-bootstrap-job.yaml" polaris-realm-bootstrap

step "polaris (Iceberg REST catalog)"
"${PY[@]}" -m lakehouse.platform.charts install polaris --context "$CONTEXT"

step "polaris bootstrap: catalog, principals, grants, principal Secrets"
run_job "$INFRA/kubernetes/polaris-bootstrap-job.yaml" polaris-bootstrap 900s

step "trino (coordinator acting as worker)"
"${PY[@]}" -m lakehouse.platform.charts install trino --context "$CONTEXT" --timeout 15m

step "dagster (webserver, daemon, code location)"
"${PY[@]}" -m lakehouse.platform.charts install dagster --context "$CONTEXT" --timeout 15m
# Pick up a rebuilt image under the same tag (a harmless restart on the first install).
CODE_LOCATION="$("${KUBECTL[@]}" get deployment -l component=user-deployments -o name)"
[[ -n "$CODE_LOCATION" ]] || die "no code-location deployment found" "helm --kube-context $CONTEXT -n $NS status dagster"
"${KUBECTL[@]}" rollout restart "$CODE_LOCATION"
"${KUBECTL[@]}" rollout status "$CODE_LOCATION" --timeout=600s \
  || die "the code location did not become ready" "kubectl --context $CONTEXT -n $NS logs $CODE_LOCATION" \
         "SETUP_GUIDE.md, Troubleshooting (image pull on kind, memory)"

step "dbt docs site"
"${KUBECTL[@]}" apply -f "$INFRA/kubernetes/dbt-docs.yaml"
"${KUBECTL[@]}" rollout restart deployment/dbt-docs
"${KUBECTL[@]}" rollout status deployment/dbt-docs --timeout=180s

step "superset dashboards bundle (ConfigMap superset-bundle, built from analytics/)"
BUNDLE_MANIFEST="$(mktemp "${TMPDIR:-/tmp}/superset-bundle.XXXXXX.yaml")"
"${PY[@]}" -m analytics.cluster configmap --out "$BUNDLE_MANIFEST" \
  || { rm -f "$BUNDLE_MANIFEST"; die "the dashboards bundle could not be built" "read the error above (python -m analytics.cluster)"; }
# Server-side: a client-side apply copies the whole object into the last-applied-configuration
# annotation, which the API server caps at 256 KiB, far below the ConfigMap's 1 MiB.
"${KUBECTL[@]}" apply --server-side --field-manager=lakehouse-up -f "$BUNDLE_MANIFEST"
rm -f "$BUNDLE_MANIFEST"

step "superset (web; its init Job migrates, creates the admin and imports the bundle)"
"${PY[@]}" -m lakehouse.platform.charts install superset --context "$CONTEXT" --timeout 15m
# Pick up a rebuilt image under the same tag and rotated Secret values (the Deployment is named
# after the release: `superset.fullname`, helm/superset/templates/deployment.yaml).
"${KUBECTL[@]}" rollout restart deployment/superset
"${KUBECTL[@]}" rollout status deployment/superset --timeout=600s \
  || die "Superset did not become ready" "kubectl --context $CONTEXT -n $NS logs deployment/superset" \
         "kubectl --context $CONTEXT -n $NS logs job/superset-init-db (the init Job)"

step "credentials file"
"${PY[@]}" -m lakehouse.platform.secrets export --context "$CONTEXT"

cat <<MSG

==> the lakehouse is up (kind cluster '$CLUSTER', namespace '$NS').
    Open the UIs:   make port-forward    (leave it running), then
      Dagster       http://localhost:3000
      Trino         http://localhost:8080   (user: any name, no password)
      MinIO console http://localhost:9001   (MINIO_ROOT_USER / MINIO_ROOT_PASSWORD)
      MinIO S3 API  http://localhost:9000
      Polaris API   http://localhost:8181/api/catalog
      dbt docs      http://localhost:8081
      Superset      http://localhost:8088   (SUPERSET_ADMIN_USER / SUPERSET_ADMIN_PASSWORD)
    Credentials:    infrastructure/.secrets/credentials.env (git-ignored)
    Check:          make status
    Run the graph:  SETUP_GUIDE.md, "Run the graph"
MSG
