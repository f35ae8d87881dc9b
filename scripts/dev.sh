#!/usr/bin/env bash
# The dev command: installs what it needs, then starts the whole stack with
# sandbox data (embedded Postgres, fake NOMIS upstreams, API + GraphiQL).
# Arguments go to `allocation-api dev` (e.g. `bash scripts/dev.sh --port 8001`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
exec .venv/bin/allocation-api dev "$@"
