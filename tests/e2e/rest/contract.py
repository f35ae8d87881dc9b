"""The REST contract suite's helpers: GET a REST endpoint, and check every answer
against the operation's response schema in the served OpenAPI document.

`get` is the only way the suite calls a REST endpoint, so every response any
test sees is validated (status documented, body valid against the schema for
that status, with `jsonschema`'s 2020-12 validator, the dialect of OpenAPI 3.1).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator

from tests.conftest import RunningApi

GOLDEN = Path(__file__).parent / "golden"
ROLE = "ROLE_VIEW_POM_ALLOCATIONS"

_documents: dict[str, dict[str, Any]] = {}


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    raw: bytes
    headers: dict[str, str]

    @property
    def calls(self) -> dict[str, int]:
        """The dev-mode `X-Calls` header: {"upstream": n, "store": m}."""
        found = re.fullmatch(r"upstream=(\d+), store=(\d+)", self.headers["x-calls"])
        assert found, self.headers
        return {"upstream": int(found[1]), "store": int(found[2])}


async def document(api: RunningApi) -> dict[str, Any]:
    if api.url not in _documents:
        async with api.http.get(f"{api.url}/v3/api-docs") as response:
            assert response.status == 200
            _documents[api.url] = orjson.loads(await response.read())
    return _documents[api.url]


async def client_token(api: RunningApi, *roles: str) -> str:
    return await api.token(username=None, roles=roles or (ROLE,), caseloads=())


def _template(doc: dict[str, Any], path: str) -> str:
    parts = path.split("/")
    for template in doc["paths"]:
        wanted = template.split("/")
        if len(wanted) == len(parts) and all(
            w == p or (w.startswith("{") and p) for w, p in zip(wanted, parts, strict=True)
        ):
            return str(template)
    raise AssertionError(f"{path} is not in the OpenAPI document")


def validate(doc: dict[str, Any], method: str, path: str, status: int, body: Any) -> None:
    """Raise unless `status` is documented for the operation and `body` fits its schema."""
    operation = doc["paths"][_template(doc, path)][method.lower()]
    responses = operation["responses"]
    assert str(status) in responses, f"{method} {path}: status {status} is not documented"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    resolved = {**schema, "components": doc["components"]}
    Draft202012Validator(resolved).validate(body)


async def get(
    api: RunningApi,
    path: str,
    *,
    token: str | None = None,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> Answer:
    """Call a REST endpoint and validate the answer against the OpenAPI document."""
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    async with api.http.request(method, f"{api.url}{path}", headers=sent) as response:
        raw = await response.read()
        answer = Answer(
            response.status,
            orjson.loads(raw),
            raw,
            {k.lower(): v for k, v in response.headers.items()},
        )
    assert answer.headers["content-type"].startswith("application/json"), answer.headers
    # Every operation is a GET; the 405 for other methods is documented on it.
    validate(await document(api), "get", path.split("?")[0], answer.status, answer.body)
    return answer


def check_golden(name: str, answer: Answer) -> None:
    """The body byte for byte as `golden/<name>.json`; `UPDATE_GOLDEN=1` rewrites it."""
    path = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_bytes(answer.raw + b"\n")
    assert path.exists(), f"no golden file {path.name}: run with UPDATE_GOLDEN=1 and review it"
    assert answer.raw + b"\n" == path.read_bytes(), (
        f"{name}: {answer.raw!r} differs from {path.name} (UPDATE_GOLDEN=1 to accept)"
    )
