"""Schema governance: no breaking SDL change reaches clients unannounced.

The current SDL (`schema.graphql`, itself checked for being current) is
compared with the SDL clients were promised, using graphql-core's
`find_breaking_changes` and `find_dangerous_changes`. A breaking change
passes only when `breaking-changes.toml` lists it (graphql-core's
description, word for word, with a date and a reason); a dangerous change
is reported as a warning. A field may only be removed once the baseline
already marked it `@deprecated(reason: ...)`, listed or not.

Baselines, all checked:

* `schema.released.graphql`, committed: the SDL of the last release. It is
  what applies on a clean clone without history (CI), and it is updated by
  one command at release time (`allocation-api schema-check --release`).
* from git, when there is history: the SDL at the latest `v*` tag; else, on a
  branch, at the merge base with `main` (what the branch changes for the
  clients of main). A missing git, repository or file there adds nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from graphql import (
    BreakingChangeType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
)

SCHEMA_DIR = Path(__file__).resolve().parent
CURRENT_SDL = SCHEMA_DIR / "schema.graphql"
RELEASED_SDL = SCHEMA_DIR / "schema.released.graphql"
CHANGES_FILE = SCHEMA_DIR / "breaking-changes.toml"
SDL_IN_REPO = "allocation_api/schema/schema.graphql"

_REMOVED_FIELD = re.compile(r"^Field (?P<type>\w+)\.(?P<field>\w+) was removed\.$")


class ChangesFileError(ValueError):
    """The changes file is not what it must be (each entry: description, date, reason)."""


@dataclass(frozen=True)
class ListedChange:
    description: str
    date: dt.date
    reason: str


@dataclass(frozen=True)
class Baseline:
    name: str
    """Where it came from, e.g. `schema.released.graphql` or `tag v1.2.0`."""
    sdl: str


@dataclass
class Report:
    """The outcome against one baseline."""

    baseline: str
    breaking: list[str] = field(default_factory=list)
    """Breaking changes not listed in the changes file: these fail the check."""
    listed: list[str] = field(default_factory=list)
    """Breaking changes the changes file lists (allowed)."""
    dangerous: list[str] = field(default_factory=list)
    """Warnings only."""
    undeprecated_removals: list[str] = field(default_factory=list)
    """Fields removed without having been deprecated in the baseline: these fail too."""

    @property
    def ok(self) -> bool:
        return not self.breaking and not self.undeprecated_removals

    def lines(self) -> list[str]:
        out = [f"against {self.baseline}:"]
        out += [f"  BREAKING (not listed in {CHANGES_FILE.name}): {d}" for d in self.breaking]
        out += [
            f"  BREAKING (removed without @deprecated first): {d}"
            for d in self.undeprecated_removals
        ]
        out += [f"  breaking, listed: {d}" for d in self.listed]
        out += [f"  warning (dangerous): {d}" for d in self.dangerous]
        if len(out) == 1:
            out.append("  no breaking or dangerous changes")
        return out


def load_changes(path: Path = CHANGES_FILE) -> list[ListedChange]:
    """The listed breaking changes; a missing file lists none."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except tomllib.TOMLDecodeError as error:
        raise ChangesFileError(f"{path}: {error}") from None
    entries = raw.get("change", [])
    if not isinstance(entries, list):
        raise ChangesFileError(f"{path}: `change` must be an array of tables ([[change]])")
    changes = []
    for i, entry in enumerate(entries, start=1):
        description, date, reason = (entry.get(k) for k in ("description", "date", "reason"))
        if not isinstance(description, str) or not description.strip():
            raise ChangesFileError(f"{path}: change {i} needs a description")
        if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
            raise ChangesFileError(f"{path}: change {i} needs a date (YYYY-MM-DD, unquoted)")
        if not isinstance(reason, str) or not reason.strip():
            raise ChangesFileError(f"{path}: change {i} needs a reason")
        changes.append(ListedChange(description.strip(), date, reason.strip()))
    return changes


def _deprecated_in(schema: GraphQLSchema, type_name: str, field_name: str) -> bool:
    named = schema.get_type(type_name)
    if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        return False
    old = named.fields.get(field_name)
    return old is not None and old.deprecation_reason is not None


def compare(baseline: Baseline, current_sdl: str, listed: Sequence[ListedChange] = ()) -> Report:
    """The breaking and dangerous changes from `baseline` to `current_sdl`."""
    old, new = build_schema(baseline.sdl), build_schema(current_sdl)
    allowed = {change.description for change in listed}
    report = Report(baseline.name)
    for change in find_breaking_changes(old, new):
        if change.type is BreakingChangeType.FIELD_REMOVED:
            match = _REMOVED_FIELD.match(change.description)
            if match and not _deprecated_in(old, match["type"], match["field"]):
                report.undeprecated_removals.append(change.description)
        if change.description in allowed:
            report.listed.append(change.description)
        else:
            report.breaking.append(change.description)
    report.dangerous = [change.description for change in find_dangerous_changes(old, new)]
    return report


def _git(root: Path, *args: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(
            [git, *args], cwd=root, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def git_baseline(root: Path) -> Baseline | None:
    """The SDL at the latest `v*` tag, else at the merge base with main (on a branch)."""
    tags = _git(root, "tag", "--list", "v*", "--sort=-v:refname")
    if tags and tags.split():
        tag = tags.split()[0]
        sdl = _git(root, "show", f"{tag}:{SDL_IN_REPO}")
        return Baseline(f"tag {tag}", sdl) if sdl else None
    head = (_git(root, "rev-parse", "HEAD") or "").strip()
    for main in ("main", "origin/main"):
        base = (_git(root, "merge-base", "HEAD", main) or "").strip()
        if base:
            if base == head:  # on main itself: the committed baseline says it all
                return None
            sdl = _git(root, "show", f"{base}:{SDL_IN_REPO}")
            return Baseline(f"merge base with {main} ({base[:10]})", sdl) if sdl else None
    return None


def baselines(root: Path | None = None) -> list[Baseline]:
    """Every baseline that applies here: the committed one, and git's when there is one."""
    found = [Baseline(RELEASED_SDL.name, RELEASED_SDL.read_text(encoding="utf-8"))]
    from_git = git_baseline(root or SCHEMA_DIR.parent.parent)
    if from_git is not None:
        found.append(from_git)
    return found


def check(root: Path | None = None) -> list[Report]:
    """Compare the committed SDL with every baseline (see the module's docstring)."""
    current = CURRENT_SDL.read_text(encoding="utf-8")
    listed = load_changes()
    return [compare(baseline, current, listed) for baseline in baselines(root)]


def release(current_sdl: str | None = None) -> Path:
    """Make the current SDL the released one (run at release time)."""
    RELEASED_SDL.write_text(
        current_sdl if current_sdl is not None else CURRENT_SDL.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    return RELEASED_SDL
