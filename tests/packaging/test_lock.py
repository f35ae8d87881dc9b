"""The lock files agree with pyproject.toml: every declared dependency is pinned,
within its range, with hashes; the runtime lock pins what the dev lock pins.

Installs trust the lock files alone (scripts/bootstrap.sh, the Dockerfile), so
a range edited in pyproject.toml without `bash scripts/upgrade-lock.sh --keep`
would otherwise go unnoticed until some machine resolved differently.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def _pins(name: str) -> dict[str, set[Version]]:
    """Package -> pinned versions (a universal lock may pin two, under markers)."""
    text = (LOCK / name).read_text()
    # One entry per requirement: the pin line and its continuation lines.
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)
    pins: dict[str, set[Version]] = defaultdict(set)
    for entry in entries:
        match = PIN.match(entry)
        if match is None:
            continue
        assert "--hash=sha256:" in entry, f"{name}: {match.group(1)} has no hash"
        pins[canonicalize_name(match.group(1))].add(Version(match.group(2)))
    assert pins, f"{name} pins nothing"
    return pins


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _project_requirements(*, extras: bool) -> list[Requirement]:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    declared = list(project["dependencies"])
    if extras:
        declared += [r for group in project["optional-dependencies"].values() for r in group]
    return [Requirement(r) for r in declared]


def _assert_pinned(lock: str, requirements: list[Requirement]) -> None:
    pins = _pins(lock)
    for requirement in requirements:
        versions = pins.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement} is not in lock/{lock}: bash scripts/upgrade-lock.sh --keep"
        for version in versions:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"lock/{lock} pins {requirement.name}=={version}, outside {requirement}: "
                "bash scripts/upgrade-lock.sh --keep"
            )


@pytest.mark.parametrize(("lock", "extras"), [("dev.txt", True), ("runtime.txt", False)])
def test_lock_pins_every_declared_dependency_within_its_range(lock: str, extras: bool) -> None:
    _assert_pinned(lock, _project_requirements(extras=extras))


def test_runtime_lock_pins_the_versions_the_suite_runs_on() -> None:
    dev, runtime = _pins("dev.txt"), _pins("runtime.txt")
    differing = {name: (versions, dev.get(name)) for name, versions in runtime.items()}
    assert {name: pair for name, pair in differing.items() if pair[0] != pair[1]} == {}
    assert runtime.keys() < dev.keys()


def test_build_and_tool_locks_pin_the_build_backend_and_uv() -> None:
    build_system = _pyproject()["build-system"]
    assert isinstance(build_system, dict)
    _assert_pinned("build.txt", [Requirement(r) for r in build_system["requires"]])
    assert list(_pins("tools.txt")) == ["uv"]


def test_locks_name_no_index_or_download_address() -> None:
    for lock in sorted(LOCK.glob("*.txt")):
        text = lock.read_text()
        assert "://" not in text, lock.name
        assert not re.search(r"^\s*--(extra-)?index-url|^\s*--find-links", text, re.M), lock.name
