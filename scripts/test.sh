#!/usr/bin/env bash
# The test command: installs what it needs, then lint, types and the whole suite.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -k mutations`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/pytest "$@"
