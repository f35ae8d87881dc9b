"""The README's examples run as written against the dev stack.

The stack here is what `allocation-api dev` runs: the sandbox with seed 42
(LEI, MDI, BXI; 300 prisoners each), a fresh migrated database, the API in
dev mode, the dev stack's seeded allocations at LEI (`seed_allocations`)
and the dev token (SPO_MULTI, ROLE_ALLOC_MGR, LEI/MDI/BXI). Each fenced
`graphql` block is one request, with the variables of a `json` block right
after it; the `sh` block with `curl` runs in bash from the checkout's root
(only the API's port differs from the dev stack's default). Nothing may
answer with `errors` or an error member, and running them all a second time
(as a reader pasting twice) must succeed as well.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from graphql import OperationDefinitionNode, parse

from allocation_api.devstack import DEV_USER, banner, seed_allocations
from allocation_api.sandbox import Sandbox
from allocation_api.store.testing import database_for_tests, drop_database_for_tests
from tests.conftest import RunningApi, running_api, settings_for

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```\n", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Example:
    document: str
    variables: dict[str, Any] | None
    name: str


def _blocks() -> list[tuple[str, str, int, int]]:
    text = README.read_text(encoding="utf-8")
    return [(m["lang"], m["body"], m.start(), m.end()) for m in FENCE.finditer(text)]


def graphql_examples() -> list[Example]:
    text = README.read_text(encoding="utf-8")
    blocks = _blocks()
    examples = []
    for i, (lang, body, _start, end) in enumerate(blocks):
        if lang != "graphql":
            continue
        variables = None
        if i + 1 < len(blocks):
            next_lang, next_body, next_start, _ = blocks[i + 1]
            if next_lang == "json" and not text[end:next_start].strip():
                variables = orjson.loads(next_body)
        operations = [d for d in parse(body).definitions if isinstance(d, OperationDefinitionNode)]
        assert len(operations) == 1, f"one operation per block, so it can be pasted:\n{body}"
        name = operations[0].name.value if operations[0].name else f"block {i}"
        examples.append(Example(body, variables, name))
    return examples


def curl_examples() -> list[str]:
    return [body for lang, body, _, _ in _blocks() if lang == "sh" and "curl " in body]


def error_members(value: Any, path: str = "data") -> list[str]:
    """Every object in `value` that is an error member (a union's `...Error` or has a `code`)."""
    found = []
    if isinstance(value, dict):
        if str(value.get("__typename", "")).endswith("Error") or "code" in value:
            found.append(f"{path}: {value}")
        for key, item in value.items():
            found += error_members(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += error_members(item, f"{path}[{index}]")
    return found


@pytest.fixture(scope="module")
async def dev_stack(sandbox: Sandbox) -> AsyncIterator[RunningApi]:
    """The dev stack's API on its own fresh database, seeded as `allocation-api dev` seeds."""
    url = await database_for_tests()
    try:
        async with running_api(settings_for(sandbox, url), sandbox) as running:
            token = await running.token(DEV_USER, ("ROLE_ALLOC_MGR",), ("LEI", "MDI", "BXI"))
            assert await seed_allocations(running.url, token) > 0
            yield running
    finally:
        await drop_database_for_tests(url)


def test_the_readme_has_its_examples() -> None:
    names = [example.name for example in graphql_examples()]
    assert names == [
        "FirstPage",
        "RecordCaseInformation",
        "Allocate",
        "SetOverride",
        "RemoveOverride",
        "RecordParoleReview",
        "UpdateParoleReview",
        "CaseFacts",
        "CaseHistory",
    ]
    graphql_curls = [block for block in curl_examples() if "localhost:8000/graphql" in block]
    assert graphql_curls
    assert all("allocation-api token" in block for block in graphql_curls)
    # No example names a prisoner the sandbox does not have.
    for example in graphql_examples():
        assert "A1234BC" not in example.document + str(example.variables)
    assert not any("A1234BC" in block for block in curl_examples())


async def test_graphql_examples_run_without_errors(dev_stack: RunningApi) -> None:
    examples = graphql_examples()
    for attempt in (1, 2):  # pasted twice: the idempotency key replays the allocation
        for example in examples:
            body = await dev_stack.gql(example.document, example.variables)
            where = f"README example {example.name} (run {attempt})"
            assert "errors" not in body, f"{where}: {body}"
            assert body["data"], f"{where}: {body}"
            assert not error_members(body["data"]), f"{where}: {error_members(body['data'])}"
    allocated = await dev_stack.gql(
        '{ prisoner(offenderNo: "G3771AR") { allocation { version primaryPom { staffId } } } }'
    )
    assert allocated["data"]["prisoner"]["allocation"] == {
        "version": 1,
        "primaryPom": {"staffId": 485005},
    }


async def _run_shell(script: str, data_dir: Path) -> tuple[str, str]:
    """`script` in bash from the checkout's root, the dev stack's data in `data_dir`:
    (stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLOCATION_API_")}
    env["ALLOCATION_API_DATA_DIR"] = str(data_dir)
    child = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        "set -euo pipefail\n" + script,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        out, err = await child.communicate()
    assert child.returncode == 0, err.decode()
    return out.decode(), err.decode()


STATUS = "__README_STATUS__"
# Defined before a block runs, so that the block runs verbatim while every curl in
# it (pipelines and command substitutions included) reports its HTTP status on
# stderr, out of the way of what the block does with the body.
CURL_STATUS = f"curl() {{ command curl -w '%{{stderr}}{STATUS}%{{http_code}}\\n' \"$@\"; }}\n"


async def test_curl_examples_run_verbatim(
    dev_stack: RunningApi, sandbox: Sandbox, tmp_path: Path
) -> None:
    """Every shell block with curl, from the checkout's root: `allocation-api token` finds
    the running stack through its `dev.json`, every request is answered 2xx, and the
    GraphQL example answers without errors."""
    (tmp_path / "dev.json").write_bytes(
        orjson.dumps({"api": dev_stack.url, "sandbox": sandbox.urls})
    )
    host_port = dev_stack.url.removeprefix("http://")
    for block in curl_examples():
        out, err = await _run_shell(
            CURL_STATUS + block.replace("localhost:8000", host_port), tmp_path
        )
        statuses = [int(s) for s in re.findall(rf"{STATUS}(\d{{3}})", err)]
        assert len(statuses) == block.count("curl "), f"{block}: {err}"
        assert all(200 <= status < 300 for status in statuses), f"{block}: {statuses} {out}"
        assert out.strip(), f"{block}: nothing printed"
        if block.lstrip().startswith("export TOKEN"):
            answer = orjson.loads(out)
            assert "errors" not in answer, answer
            assert answer["data"]["prison"]["name"], answer


async def test_dev_banner_commands_run_as_printed(
    dev_stack: RunningApi, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commands `allocation-api dev` prints, copied from its banner into a shell."""
    (tmp_path / "dev.json").write_bytes(
        orjson.dumps({"api": dev_stack.url, "sandbox": sandbox.urls})
    )
    monkeypatch.chdir(ROOT)  # where scripts/dev.sh runs the stack
    printed = banner(dev_stack.url, sandbox.urls, 0, "unused").splitlines()
    start = printed.index("  In another shell, from this directory:") + 2
    commands = printed[start : start + 2]
    assert commands[0] == "export TOKEN=$(.venv/bin/allocation-api token)"
    assert commands[1].startswith(f"curl -s {dev_stack.url}/graphql ")
    out, _ = await _run_shell("\n".join(commands), tmp_path)
    answer = orjson.loads(out)
    assert "errors" not in answer, answer
    assert answer["data"]["prison"]["name"], answer


async def test_token_works_from_any_directory_of_the_checkout(
    dev_stack: RunningApi, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A checkout whose dev stack runs: `token` from a subdirectory finds its dev.json."""
    checkout = tmp_path / "checkout"
    (checkout / ".allocation-api").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text('[project]\nname = "allocation-api"\n')
    (checkout / ".allocation-api" / "dev.json").write_bytes(
        orjson.dumps({"api": dev_stack.url, "sandbox": sandbox.urls})
    )
    deep = checkout / "allocation_api" / "schema"
    deep.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLOCATION_API_")}

    async def token_from(cwd: Path) -> tuple[int, str, str]:
        child = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "allocation-api"),
            "token",
            cwd=cwd,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(60):
            out, err = await child.communicate()
        return child.returncode or 0, out.decode().strip(), err.decode()

    for cwd in (checkout, deep):
        status, token, err = await token_from(cwd)
        assert status == 0, err
        body = await dev_stack.gql('{ prison(code: "LEI") { name } }', token=token)
        assert "errors" not in body, body
    # Outside any checkout: one line saying what is missing, no traceback.
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    status, token, err = await token_from(outside)
    assert status == 2
    assert token == ""
    (line,) = err.splitlines()
    assert line.startswith("allocation-api token: no dev stack found")
    # A dev.json whose stack has stopped: one line too.
    (checkout / ".allocation-api" / "dev.json").write_bytes(
        orjson.dumps({"api": "http://127.0.0.1:1", "sandbox": {"hmpps-auth": "http://127.0.0.1:1"}})
    )
    status, token, err = await token_from(deep)
    assert status == 2
    (line,) = err.splitlines()
    assert "is `allocation-api dev` still running?" in line
