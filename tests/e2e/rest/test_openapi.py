"""`/v3/api-docs` is a valid OpenAPI 3.1 document (checked by openapi-spec-validator)
generated from the routes' models, and the human page lists every operation."""

from __future__ import annotations

from openapi_spec_validator import OpenAPIV31SpecValidator

from tests.conftest import RunningApi
from tests.e2e.rest.contract import document

PATHS = {
    "/api/allocation/{nomsNumber}",
    "/api/allocation/{nomsNumber}/primary_pom",
    "/api/offenders/{nomsNumber}",
}


async def test_document_is_valid_openapi_3_1(api: RunningApi) -> None:
    doc = await document(api)
    assert doc["openapi"].startswith("3.1")
    errors = [str(e) for e in OpenAPIV31SpecValidator(doc).iter_errors()]
    assert errors == []
    assert set(doc["paths"]) >= PATHS
    for path in PATHS:
        responses = doc["paths"][path]["get"]["responses"]
        assert {"200", "400", "401", "403", "404", "405", "503"} <= set(responses)


async def test_document_needs_no_token_and_names_the_role(api: RunningApi) -> None:
    async with api.http.get(f"{api.url}/v3/api-docs") as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("application/json")
    doc = await document(api)
    operation = doc["paths"]["/api/offenders/{nomsNumber}"]["get"]
    assert "ROLE_VIEW_POM_ALLOCATIONS" in operation["description"]
    assert operation["security"] == [{"bearerAuth": []}]


async def test_human_page_lists_every_operation(api: RunningApi) -> None:
    async with api.http.get(f"{api.url}/swagger-ui.html") as response:
        assert response.status == 200
        page = await response.text()
    for path in PATHS:
        assert f"GET {path}" in page
