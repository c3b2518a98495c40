# The lakehouse on Kubernetes (kind): included by the root Makefile (`-include infrastructure/platform.mk`).
# Targets match SETUP_GUIDE.md ("The cluster") and TEARDOWN.md. Each one calls a script in
# infrastructure/scripts/ or `python -m lakehouse.platform.<module>`.

PLATFORM_SCRIPTS := infrastructure/scripts
# How the scripts run the project's Python: the locked environment through uv (RUN comes from the
# root Makefile; the fallback keeps this file usable on its own).
LAKEHOUSE_PY ?= $(or $(RUN),uv run --frozen) python
export LAKEHOUSE_PY

.PHONY: preflight
preflight: ## Check docker/kind/kubectl/helm and the memory, CPUs and disk the cluster needs
	@$(LAKEHOUSE_PY) -m lakehouse.platform.preflight

.PHONY: up
up: ## Create the kind cluster and install MinIO, Polaris, Trino, Dagster, Superset (idempotent)
	@bash $(PLATFORM_SCRIPTS)/up.sh

.PHONY: down
down: ## Delete the kind cluster (says what remains on this machine)
	@bash $(PLATFORM_SCRIPTS)/down.sh

.PHONY: port-forward
port-forward: ## Forward Trino 8080, MinIO 9000/9001, Dagster 3000, Polaris 8181, dbt docs 8081, Superset 8088
	@bash $(PLATFORM_SCRIPTS)/port-forward.sh

.PHONY: trino
trino: ## A Trino SQL shell in the cluster's coordinator pod (CATALOG=iceberg_readonly by default)
	@kubectl --context kind-$(or $(LAKEHOUSE_CLUSTER),lakehouse) --namespace lakehouse \
		exec -it deploy/trino-coordinator -- trino --catalog $(or $(CATALOG),iceberg_readonly)

.PHONY: status
status: ## Releases, pods, jobs, services and volumes of the cluster
	@bash $(PLATFORM_SCRIPTS)/status.sh

.PHONY: secrets
secrets: ## (Re)write infrastructure/.secrets/credentials.env from the cluster's Secrets
	@$(LAKEHOUSE_PY) -m lakehouse.platform.secrets export

.PHONY: test-infra
test-infra: ## Static checks of the platform (manifests, values, policies, Dockerfile) - no cluster
	@$(LAKEHOUSE_PY) -m pytest tests/infrastructure -q $(PYTEST_ARGS)
