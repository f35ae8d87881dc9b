"""The `allocation-api` command: serve refuses clearly; export-schema prints the SDL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from allocation_api.cli import main

SDL = Path(__file__).resolve().parents[1] / "allocation_api" / "schema" / "schema.graphql"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("ALLOCATION_API_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_serve_refuses_without_required_settings(
    clean_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "missing required setting(s)" in err
    for name in ("DATABASE_URL", "PRISONER_SEARCH_URL", "HMPPS_AUTH_URL", "CLIENT_SECRET"):
        assert f"ALLOCATION_API_{name}" in err


def test_token_without_dev_stack_says_what_to_do(
    clean_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token"]) == 2
    assert "start `allocation-api dev` first" in capsys.readouterr().err


def test_export_schema_prints_the_committed_sdl(
    clean_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export-schema"]) == 0
    assert capsys.readouterr().out == SDL.read_text()
