#!/usr/bin/env bash
# Makes .venv (Python >= 3.11) hold exactly what lock/dev.txt pins (every file
# hash-checked), plus the project itself, editable. Needs only python3 and pip:
# it first installs the uv release pinned in lock/tools.txt (hash-checked, with
# pip), and uv does the rest. Re-installs only when pyproject.toml, a lock file
# or this script changed. Sourced by the other scripts; afterwards $UV is the
# pinned uv (also linked as .venv/bin/uv).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PYTHON=$(command -v "$candidate"); break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "bootstrap: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi

# uv uses the interpreter found above, never one it would download.
export UV_PYTHON_DOWNLOADS=never

uv_version=$(sed -n 's/^uv==\([^ ;]*\).*/\1/p' lock/tools.txt)
uv_dir=$PWD/.venv/.uv-$uv_version
UV=$uv_dir/bin/uv
export UV

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv --without-pip .venv
fi
if [ ! -x "$UV" ]; then
  echo "bootstrap: installing uv $uv_version (lock/tools.txt)" >&2
  rm -rf .venv/.uv-*
  "$PYTHON" -m pip install -qq --disable-pip-version-check --no-deps --only-binary :all: \
    --require-hashes --target "$uv_dir" -r lock/tools.txt
fi

stamp=.venv/.installed-$(cat pyproject.toml lock/*.txt scripts/bootstrap.sh | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing lock/dev.txt and the project (editable) into .venv" >&2
  "$UV" pip sync --quiet --python .venv/bin/python --require-hashes lock/dev.txt
  "$UV" pip install --quiet --python .venv/bin/python --no-deps \
    --build-constraints lock/build.txt --editable .
  # The project's own requirements must be met by the lock (else: upgrade-lock.sh).
  "$UV" pip check --quiet --python .venv/bin/python
  ln -sfn "../.uv-$uv_version/bin/uv" .venv/bin/uv
  rm -f .venv/.installed-*
  touch "$stamp"
fi
