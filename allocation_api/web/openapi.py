"""The OpenAPI 3.1 document of the REST endpoints (`/v3/api-docs`) and a plain
HTML listing of it (`/swagger-ui.html`).

Generated, never written by hand: paths and operations from the `RestRoute`
registry (`web/rest.py`), bodies from the routes' pydantic models as JSON
Schema 2020-12 (the dialect OpenAPI 3.1 uses) under `components.schemas`.
The document is built once per app. No Swagger UI assets ship in the wheel
(none is available offline), so the human page is a generated HTML table of
the operations and their answers, linking to the JSON document.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

import orjson
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from allocation_api.web.rest import RestRoute

_PATH_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")
_REF = "#/components/schemas/{model}"


def build_document(routes: Iterable[RestRoute], *, version: str) -> dict[str, Any]:
    routes = list(routes)
    models: list[type[BaseModel]] = []
    for route in routes:
        for model, _ in route.responses.values():
            if model is not None and model not in models:
                models.append(model)
    refs, defs = models_json_schema([(m, "serialization") for m in models], ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        responses: dict[str, Any] = {}
        for status, (model, description) in sorted(route.responses.items()):
            answer: dict[str, Any] = {"description": description}
            if model is not None:
                answer["content"] = {"application/json": {"schema": refs[(model, "serialization")]}}
            elif status in route.text_responses:
                answer["content"] = {route.text_responses[status]: {"schema": {"type": "string"}}}
            if status == 401:
                answer["headers"] = {
                    "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}
                }
            responses[str(status)] = answer
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "description": "Prisoner number (NOMS number), e.g. A1234BC",
                "schema": {"type": "string"},
            }
            for name in _PATH_PARAM.findall(route.path)
        ]
        parameters.extend(dict(p) for p in route.parameters)
        operation: dict[str, Any] = {
            "operationId": route.operation_id,
            "summary": route.summary,
            "tags": [route.tag],
            "parameters": parameters,
            "responses": responses,
        }
        if route.role is not None:
            operation["security"] = [{"bearerAuth": []}]
            operation["description"] = f"Needs a client token with {route.role}."
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Allocation API (REST)",
            "version": version,
            "description": "The REST contract other services read allocation data through; "
            "the full API is GraphQL at /graphql.",
        },
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


class OpenApiEndpoints:
    """`/v3/api-docs` and `/swagger-ui.html`, over one document built at start."""

    def __init__(self, routes: Iterable[RestRoute], *, version: str) -> None:
        self.document = build_document(routes, version=version)
        self._encoded = orjson.dumps(self.document)
        self._page = _page(self.document)

    async def docs(self, request: Request) -> Response:
        return Response(self._encoded, media_type="application/json")

    async def page(self, request: Request) -> Response:
        return HTMLResponse(self._page)


def _page(document: dict[str, Any]) -> str:
    rows: list[str] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answers = ", ".join(
                f"{status} {html.escape(r['description'])}"
                for status, r in operation["responses"].items()
            )
            rows.append(
                f"<tr><td><code>{method.upper()} {html.escape(path)}</code></td>"
                f"<td>{html.escape(operation['summary'])}</td><td>{answers}</td></tr>"
            )
    title = html.escape(document["info"]["title"])
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>OpenAPI 3.1 document: "
        f"<a href='/v3/api-docs'>/v3/api-docs</a></p>"
        f"<table border='1'><tr><th>endpoint</th><th>what</th><th>answers</th></tr>"
        f"{''.join(rows)}</table></body></html>"
    )
