#!/usr/bin/env bash
# Re-resolves the lock files in lock/ and runs the test command, which decides
# whether the new pins are safe (the suite includes the fast-path equivalence
# tests and the installed-wheel test); if it fails, `git checkout lock/` goes back.
#
#   bash scripts/upgrade-lock.sh            every pin to the newest release the
#                                           ranges in pyproject.toml allow (uv too)
#   bash scripts/upgrade-lock.sh PKG ...    only these packages
#   bash scripts/upgrade-lock.sh --keep     no upgrades: re-lock after editing
#                                           pyproject.toml, keeping the other pins
#
# The locks are universal (every platform, Python >= 3.11) and hash every file;
# they name no index, so each machine's installer uses its own configured one.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh

upgrade=(--upgrade)
if [ "${1:-}" = "--keep" ]; then
  upgrade=()
elif [ $# -gt 0 ]; then
  upgrade=()
  for package in "$@"; do upgrade+=(--upgrade-package "$package"); done
fi

compile() {
  "$UV" pip compile --quiet --universal --generate-hashes --python-version 3.11 \
    --custom-compile-command "bash scripts/upgrade-lock.sh" "$@"
}
# dev = runtime + the dev extra; runtime takes the very versions of dev, so the
# suite tests exactly what the wheel and the Docker image install.
compile ${upgrade[@]+"${upgrade[@]}"} pyproject.toml --extra dev -o lock/dev.txt
compile --upgrade pyproject.toml --constraint lock/dev.txt -o lock/runtime.txt
.venv/bin/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))' |
  compile ${upgrade[@]+"${upgrade[@]}"} - -o lock/build.txt
echo uv | compile ${upgrade[@]+"${upgrade[@]}"} - -o lock/tools.txt

git --no-pager diff --stat -- lock/ || true
bash scripts/test.sh
echo "upgrade-lock: the suite passed on the new pins. Newer releases held back by" \
  "the upper bounds in pyproject.toml (raise one deliberately, then run this again):"
"$UV" pip list --quiet --outdated --python .venv/bin/python || true
