"""Schema governance: the committed SDL breaks no released client unannounced.

The committed SDL is compared with every baseline that applies (the
committed `schema.released.graphql`; the last `v*` tag or the merge base
with main when git knows them): a breaking change must be listed in
`breaking-changes.toml` with a date and a reason, and a removed field must
have been deprecated in the baseline. The rules themselves are checked on
small schemas made for the purpose.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from graphql import build_schema

from allocation_api.cli import main
from allocation_api.schema import governance
from allocation_api.schema.governance import Baseline, ChangesFileError, ListedChange

ROOT = Path(__file__).resolve().parents[2]


def test_no_unlisted_breaking_change_against_any_baseline() -> None:
    reports = governance.check(ROOT)
    assert reports[0].baseline == "schema.released.graphql"
    for report in reports:
        assert report.ok, "\n".join(report.lines())


def test_the_released_contract_is_where_history_was_non_null() -> None:
    """The baseline is the published contract; the one change since is listed, dated, explained."""
    released = build_schema(governance.RELEASED_SDL.read_text())
    history = released.get_type("Allocation").fields["history"]  # type: ignore[union-attr]
    assert str(history.type) == "[AllocationEvent!]!"
    report = governance.compare(
        Baseline("released", governance.RELEASED_SDL.read_text()),
        governance.CURRENT_SDL.read_text(),
    )
    description = (
        "Field Allocation.history changed type from [AllocationEvent!]! to [AllocationEvent!]."
    )
    assert report.breaking == [description]  # unlisted, it fails
    listed = {c.description: c for c in governance.load_changes()}
    assert listed[description].date == dt.date(2026, 12, 4)
    assert "FORBIDDEN" in listed[description].reason


def test_the_committed_baseline_applies_without_git(tmp_path: Path) -> None:
    """A clean export without history (or without git): the committed baseline alone."""
    assert governance.git_baseline(tmp_path) is None
    (only,) = governance.baselines(tmp_path)
    assert only.name == "schema.released.graphql"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_baseline_prefers_the_latest_release_tag(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    sdl = tmp_path / governance.SDL_IN_REPO
    sdl.parent.mkdir(parents=True)
    git("init", "-q", "-b", "main")
    git("config", "user.email", "t@example.invalid")
    git("config", "user.name", "t")
    for version, body in (
        ("v1.0.0", "type Query { a: Int }"),
        ("v1.10.0", "type Query { b: Int }"),
    ):
        sdl.write_text(body)
        git("add", ".")
        git("commit", "-q", "-m", version)
        git("tag", version)
    sdl.write_text("type Query { c: Int }")
    git("commit", "-qam", "after")
    found = governance.git_baseline(tmp_path)
    assert found == Baseline("tag v1.10.0", "type Query { b: Int }")
    # Without tags: on main itself nothing (the committed file applies); on a branch the merge base.
    git("tag", "-d", "v1.0.0", "v1.10.0")
    assert governance.git_baseline(tmp_path) is None
    git("checkout", "-q", "-b", "feature")
    sdl.write_text("type Query { d: Int }")
    git("commit", "-qam", "feature")
    found = governance.git_baseline(tmp_path)
    assert found is not None
    assert found.name.startswith("merge base with main")
    assert found.sdl == "type Query { c: Int }"


OLD = """
type Query {
  prisoner(no: String!): Prisoner
  prisons: [String!]!
}
type Prisoner {
  name: String!
  tier: String @deprecated(reason: "Use caseInformation.tier")
  legalStatus: Status
}
enum Status { SENTENCED REMAND }
"""


def _compare(new: str, *listed: str) -> governance.Report:
    changes = [ListedChange(d, dt.date(2026, 12, 4), "because") for d in listed]
    return governance.compare(Baseline("old", OLD), new, changes)


def test_an_unlisted_breaking_change_fails_and_a_listed_one_passes() -> None:
    new = OLD.replace("prisons: [String!]!", "prisons: [String!]")
    description = "Field Query.prisons changed type from [String!]! to [String!]."
    failing = _compare(new)
    assert not failing.ok
    assert failing.breaking == [description]
    passing = _compare(new, description)
    assert passing.ok
    assert passing.listed == [description]


def test_removing_a_field_needs_deprecation_first_even_when_listed() -> None:
    removed = "Field Prisoner.name was removed."
    undeprecated = _compare(OLD.replace("  name: String!\n", ""), removed)
    assert not undeprecated.ok
    assert undeprecated.undeprecated_removals == [removed]

    deprecated_first = "Field Prisoner.tier was removed."
    new = OLD.replace('  tier: String @deprecated(reason: "Use caseInformation.tier")\n', "")
    assert not _compare(new).ok  # still breaking: it must be listed
    assert _compare(new, deprecated_first).ok


def test_dangerous_changes_are_warnings() -> None:
    report = _compare(OLD.replace("SENTENCED REMAND", "SENTENCED REMAND RECALL"))
    assert report.ok
    assert report.dangerous == ["Enum value Status.RECALL was added."]
    assert any(line.startswith("  warning (dangerous): ") for line in report.lines())


def test_deprecations_in_the_schema_give_a_reason() -> None:
    """`@deprecated` without a reason prints graphql-core's default: say why instead."""
    schema = build_schema(governance.CURRENT_SDL.read_text())
    for type_ in schema.type_map.values():
        for name, field in (getattr(type_, "fields", None) or {}).items():
            reason = getattr(field, "deprecation_reason", None)
            assert reason != "No longer supported", f"{type_}.{name}: give a reason"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('[[change]]\ndate = 2026-12-04\nreason = "r"\n', "needs a description"),
        ('[[change]]\ndescription = "d"\ndate = "2026-12-04"\nreason = "r"\n', "needs a date"),
        ('[[change]]\ndescription = "d"\ndate = 2026-12-04\n', "needs a reason"),
        ("[[change]\n", "line 1"),
    ],
)
def test_changes_file_entries_need_description_date_and_reason(
    tmp_path: Path, text: str, complaint: str
) -> None:
    path = tmp_path / "breaking-changes.toml"
    path.write_text(text)
    with pytest.raises(ChangesFileError, match=complaint):
        governance.load_changes(path)


def test_schema_check_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema-check"]) == 0
    out = capsys.readouterr().out
    assert "against schema.released.graphql:" in out
    assert "breaking, listed: Field Allocation.history" in out
