"""The HTTP surface: hostile or broken requests get clean 4xx answers, never a 500."""

from __future__ import annotations

import aiohttp
import pytest

from tests.conftest import RunningApi

QUERY = {"query": "{ __typename }"}


async def test_typename_works(api: RunningApi) -> None:
    status, body = await api.post(QUERY, token=await api.token())
    assert status == 200
    assert body["data"] == {"__typename": "Query"}
    assert set(body["extensions"]["calls"]) == {"upstream", "store"}


async def test_missing_token_is_401_with_challenge(api: RunningApi) -> None:
    async with api.http.post(f"{api.url}/graphql", json=QUERY) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        body = await response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_garbage_token_is_401(api: RunningApi) -> None:
    status, body = await api.post(QUERY, token="not.a.jwt")
    assert status == 401
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"{not json", "BAD_REQUEST"),
        (b"\xff\xfe\xfa", "BAD_REQUEST"),
        (b"[]", "BAD_REQUEST"),
        (b'"a string"', "BAD_REQUEST"),
        (b'{"query": 42}', "BAD_REQUEST"),
        (b'{"query": "{ __typename }", "variables": [1]}', "BAD_REQUEST"),
        (b'{"query": "{ __typename "}', "GRAPHQL_VALIDATION_FAILED"),
        (b'{"query": "{ noSuchField }"}', "GRAPHQL_VALIDATION_FAILED"),
        (
            b'{"query": "{ __typename }", "variables": ' + b"[" * 5000 + b"]" * 5000 + b"}",
            "BAD_REQUEST",
        ),
    ],
)
async def test_malformed_requests_are_400(api: RunningApi, payload: bytes, code: str) -> None:
    status, body = await api.post(payload, token=await api.token())
    assert status == 400, body
    assert body["errors"][0]["extensions"]["code"] == code
    assert "Traceback" not in str(body)


async def test_wrong_content_type_is_415(api: RunningApi) -> None:
    status, body = await api.post(
        b"query=%7B__typename%7D",
        token=await api.token(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 415
    assert body["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_oversized_body_is_413(api: RunningApi) -> None:
    big = (
        b'{"query": "{ __typename }", "pad": "' + b"x" * (api.settings.max_body_bytes + 10) + b'"}'
    )
    status, body = await api.post(big, token=await api.token())
    assert status == 413
    assert body["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_graphiql_is_served_offline_in_dev(api: RunningApi) -> None:
    async with api.http.get(f"{api.url}/graphql", headers={"Accept": "text/html"}) as response:
        assert response.status == 200
        page = await response.text()
    assert "unpkg.com" not in page
    assert "cdn" not in page.lower()
    assert "/graphql/static/graphiql.min.js" in page
    async with api.http.get(f"{api.url}/graphql/static/graphiql.min.js") as response:
        assert response.status == 200
    # Without HTML wanted, GET is a GraphQL-over-HTTP request: who asks comes first.
    async with api.http.get(f"{api.url}/graphql") as response:
        assert response.status == 401


@pytest.mark.parametrize(
    "path", ["/health/ping", "/health/liveness", "/health/readiness", "/health"]
)
async def test_health_routes_are_open(api: RunningApi, path: str) -> None:
    async with api.http.get(f"{api.url}{path}") as response:
        assert response.status == 200, await response.text()
        assert (await response.json())["status"] == "UP"


async def test_health_lists_components_to_an_authenticated_caller(api: RunningApi) -> None:
    headers = {"Authorization": f"Bearer {await api.token()}"}
    async with api.http.get(f"{api.url}/health", headers=headers) as response:
        body = await response.json()
    assert set(body["components"]) >= {"db", "prisoner-search", "prison-api", "nomis-user-roles"}


async def test_info_and_metrics(api: RunningApi) -> None:
    async with api.http.get(f"{api.url}/info") as response:
        info = await response.json()
    assert info["build"]["name"] == "allocation-api"
    assert "secret" not in str(info).lower()
    async with api.http.get(f"{api.url}/metrics") as response:
        text = await response.text()
    assert "allocation_api_graphql_requests_total" in text


async def test_unknown_route_is_404(api: RunningApi) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{api.url}/nope") as response:
        assert response.status == 404
