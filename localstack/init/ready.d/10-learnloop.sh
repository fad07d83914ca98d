#!/bin/bash
# LocalStack runs this inside its container once its services are ready. It installs
# learnloop's base package (no numpy, no extras) into a venv kept in LocalStack's volume and
# creates the stage's tables and bucket with the same code as `learnloop bootstrap`
# (learnloop_tools.deploy.localstack: wait for the endpoint, bootstrap, report). Safe to re-run.
set -euo pipefail

venv=/var/lib/localstack/learnloop-venv
src=/tmp/learnloop-src
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
# pip builds in the source tree, and the repository is mounted read-only: copy what it needs.
rm -rf "$src" && mkdir -p "$src"
cp -r /opt/learnloop/pyproject.toml /opt/learnloop/README.md /opt/learnloop/layers "$src/"
"$venv/bin/pip" install --quiet --disable-pip-version-check "$src"

# Empty compose defaults mean "derive from the stage", as Settings does.
[ -z "${LEARNLOOP_TABLE_PREFIX:-}" ] && unset LEARNLOOP_TABLE_PREFIX
[ -z "${LEARNLOOP_BUCKET:-}" ] && unset LEARNLOOP_BUCKET
AWS_ENDPOINT_URL=http://localhost:4566 "$venv/bin/python" -m learnloop_tools.deploy.localstack
