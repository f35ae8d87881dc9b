#!/usr/bin/env bash
# Production mode on one machine: installs what it needs, then runs
# `allocation-api serve` against the fake upstreams, an embedded PostgreSQL
# and a sign-in stand-in whose key is made on the spot (not a sandbox key),
# all in a temporary directory removed at exit. Prints a token for it.
# Arguments go to the command (e.g. `bash scripts/serve-local.sh --api-port 8081`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
exec .venv/bin/allocation-api sandbox --production-like "$@"
