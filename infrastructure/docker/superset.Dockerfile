# syntax=docker/dockerfile:1
# The Superset image of the cluster: the official apache/superset 6.1.0 plus the two drivers the
# stock image lacks, pinned. Pods cannot pip install at start (the NetworkPolicies deny egress to
# the internet), so everything Superset imports is in the image. Build it from this folder (it
# needs no other file of the repository):
#   docker build -f infrastructure/docker/superset.Dockerfile -t lakehouse-superset:dev infrastructure/docker
# (`make up` builds it with --provenance=false, then `docker save` + `kind load image-archive`.)
# Not built on the development machine (no Docker engine there); built for real in CI (kind-e2e).
FROM apache/superset:6.1.0

# The image keeps Superset in the virtual environment /app/.venv, managed with uv; install into
# it as root, then drop back to the image's own user (uid 1000, values/superset.yaml runAsUser).
USER root
# trino[sqlalchemy]: the `trino://` dialect of Superset's connection to Trino (apache-superset's
# `trino` extra asks for trino>=0.328.0). psycopg2-binary: the metadata DB on the project's
# Postgres, at the version of apache-superset 6.1.0's own `postgres` extra.
RUN . /app/.venv/bin/activate \
    && uv pip install --no-cache "trino[sqlalchemy]==0.340.0" "psycopg2-binary==2.9.9"
USER superset
