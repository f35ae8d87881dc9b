"""What build this is, for `/info`: version, git commit, branch and build time.

Recorded at build time, found at run time in this order:

1. `allocation_api/_build.json`, written by the Dockerfile's build stage from its
   `GIT_COMMIT`, `GIT_BRANCH` and `BUILD_TIME` build arguments before the wheel
   is built (it is package data, so the wheel carries it; it is never committed:
   see .gitignore);
2. in a git checkout (an editable install, `dev`): `git` itself, asked once;
3. otherwise "unknown" (with the `ALLOCATION_API_GIT_REF` setting, when set,
   standing in for the commit).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import orjson

from allocation_api import __version__

UNKNOWN = "unknown"
BUILD_FILE = "_build.json"
_FIELDS = ("commit", "branch", "time")


@functools.lru_cache(maxsize=1)
def build_info() -> dict[str, str]:
    """{"version", "commit", "branch", "time", "source"}; every value a string."""
    info = {"version": __version__, **dict.fromkeys(_FIELDS, UNKNOWN), "source": UNKNOWN}
    recorded = _recorded()
    if recorded is not None:
        info.update({k: str(recorded[k]) for k in _FIELDS if recorded.get(k)})
        info["source"] = "build"
        return info
    checkout = _from_git()
    if checkout is not None:
        info.update(checkout)
        info["source"] = "git"
    return info


def _recorded() -> dict[str, object] | None:
    try:
        raw = resources.files("allocation_api").joinpath(BUILD_FILE).read_bytes()
    except (FileNotFoundError, OSError):
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _from_git() -> dict[str, str] | None:
    """Commit and branch of the checkout this package was imported from, if it is one."""
    root = Path(__file__).resolve().parent.parent
    git = shutil.which("git")
    if git is None or not (root / ".git").exists():
        return None

    def ask(*args: str) -> str | None:
        try:
            done = subprocess.run(
                [git, "-C", str(root), *args],
                capture_output=True,
                text=True,
                timeout=2,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        out = done.stdout.strip()
        return out if done.returncode == 0 and out else None

    commit = ask("rev-parse", "HEAD")
    if commit is None:
        return None
    return {"commit": commit, "branch": ask("rev-parse", "--abbrev-ref", "HEAD") or UNKNOWN}
