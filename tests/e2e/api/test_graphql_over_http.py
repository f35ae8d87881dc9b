"""The GraphQL-over-HTTP specification (graphql/graphql-over-http, spec/GraphQLOverHTTP.md),
one test per rule the service implements, against the running API; plus automatic
persisted queries (Apollo's `extensions.persistedQuery` convention).

Section names in docstrings are the spec's. The status codes of GraphQL request
errors follow the spec's two media types: `application/graphql-response+json`
answers them 4xx (400), `application/json` answers every well-formed request 200.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson
import pytest

from allocation_api.sandbox import Sandbox
from tests.conftest import RunningApi, running_api, settings_for

GQL = "application/graphql-response+json"
JSON = "application/json"
TYPENAME = "{ __typename }"


async def call(
    api: RunningApi,
    method: str = "POST",
    *,
    body: Any = None,
    params: dict[str, str] | None = None,
    accept: str | None = GQL,
    content_type: str | None = JSON,
    token: bool = True,
) -> tuple[int, dict[str, str], Any]:
    """One request with exactly the headers given; (status, headers, decoded body)."""
    headers: dict[str, str] = {}
    if accept is not None:
        headers["Accept"] = accept
    if content_type is not None and method == "POST":
        headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = f"Bearer {await api.token()}"
    data = body if isinstance(body, bytes) or body is None else orjson.dumps(body)
    url = f"{api.url}/graphql" + (f"?{urlencode(params)}" if params is not None else "")
    async with api.http.request(
        method, url, data=data, headers=headers, skip_auto_headers=("Accept", "Content-Type")
    ) as response:
        raw = await response.read()
        try:
            decoded: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            decoded = raw
        return response.status, dict(response.headers), decoded


def code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(digest: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


# --- Body: media types and Content-Type --------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (GQL, GQL),
        (JSON, JSON),
        (f"{GQL}, {JSON};q=0.9", GQL),
        (f"{JSON}, {GQL};q=0.5", JSON),
        ("*/*", GQL),
        ("application/*", GQL),
        (f"*/*, {GQL};q=0", JSON),
        (None, JSON),
        ("", JSON),
    ],
)
async def test_response_media_type_follows_accept(
    api: RunningApi, accept: str | None, media: str
) -> None:
    """Body: "the server MUST respect the given Accept header and attempt to encode the
    response in the highest priority media type listed that is supported by the server";
    "MUST indicate the media type ... SHOULD indicate the encoding". A wildcard leaves
    the choice to the server (graphql-response+json); no Accept at all is a legacy client
    (Accept: "the server may respond ... with any content type it chooses")."""
    status, headers, body = await call(api, body={"query": TYPENAME}, accept=accept)
    assert status == 200, body
    assert headers["Content-Type"] == f"{media}; charset=utf-8"
    assert body["data"] == {"__typename": "Query"}


async def test_unacceptable_accept_is_406(api: RunningApi) -> None:
    """Body: "If the Accept header is present but does not indicate support for any of the
    server's supported media types or application/json, the server SHOULD respond with
    406 Not Acceptable" (Status Codes: 406)."""
    for method, kwargs in (
        ("POST", {"body": {"query": TYPENAME}}),
        ("GET", {"params": {"query": TYPENAME}}),
    ):
        status, headers, body = await call(api, method, accept="text/plain", **kwargs)
        assert status == 406, body
        assert code(body) == "NOT_ACCEPTABLE"
        assert headers["Content-Type"] == f"{JSON}; charset=utf-8"


async def test_authentication_comes_before_negotiation(api: RunningApi) -> None:
    """URL: a server "MAY forbid individual requests ... to require authentication ...
    SHOULD use the relevant 4xx": 401 before anything else is looked at."""
    status, headers, body = await call(
        api, body={"query": TYPENAME}, accept="text/plain", token=False
    )
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert code(body) == "UNAUTHENTICATED"


# --- Status Codes: request errors by media type ------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ __typename ", "GRAPHQL_VALIDATION_FAILED"),  # Document parsing failure
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),  # Document validation failure
        ("query A { __typename } query B { __typename }", "TOO_MANY_OPERATIONS"),
    ],
)
async def test_request_errors_are_400_under_graphql_response_json(
    api: RunningApi, query: str, expected: str
) -> None:
    """Status Codes (application/graphql-response+json): a response without {data} is 4xx;
    document parsing failure, document validation failure, operation cannot be
    determined: 400, with the GraphQL response body and its media type."""
    status, headers, body = await call(api, body={"query": query}, accept=GQL)
    assert status == 400, body
    assert headers["Content-Type"] == f"{GQL}; charset=utf-8"
    assert "data" not in body
    assert code(body) == expected


@pytest.mark.parametrize(
    "query",
    ["{ __typename ", "{ noSuchField }"],
)
async def test_request_errors_are_200_under_application_json(api: RunningApi, query: str) -> None:
    """Status Codes (application/json): "The server SHOULD use the 200 status code for every
    response to a well-formed GraphQL-over-HTTP request, independent of any GraphQL request
    error"; the body has {errors} and no {data}."""
    status, headers, body = await call(api, body={"query": query}, accept=JSON)
    assert status == 200, body
    assert headers["Content-Type"] == f"{JSON}; charset=utf-8"
    assert "data" not in body
    assert code(body) == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.parametrize("accept", [GQL, JSON])
async def test_operation_not_in_document(api: RunningApi, accept: str) -> None:
    """Status Codes, "Operation cannot be determined": an operationName the document does not
    hold is not executed; 400 under graphql-response+json, 200 under application/json."""
    status, _, body = await call(
        api, body={"query": "query A { __typename }", "operationName": "B"}, accept=accept
    )
    assert status == (400 if accept == GQL else 200), body
    assert "data" not in body
    assert code(body) == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.parametrize("accept", [GQL, JSON])
async def test_variable_coercion_failure(api: RunningApi, accept: str) -> None:
    """Status Codes, "Variable coercion failure": no execution; 400 under
    graphql-response+json, 200 under application/json."""
    query = "query Q($code: String!) { prison(code: $code) { name } }"
    status, _, body = await call(
        api, body={"query": query, "variables": {"code": None}}, accept=accept
    )
    assert status == (400 if accept == GQL else 200), body
    assert "data" not in body
    assert body["errors"]


@pytest.mark.parametrize("accept", [GQL, JSON])
@pytest.mark.parametrize(
    "payload",
    [
        b"NONSENSE",  # JSON parsing failure
        b'{"query":',
        b'{"qeury": "{__typename}"}',  # Invalid parameters
        b'{"query": "{ __typename }", "variables": [7]}',
        b'{"query": "{ __typename }", "extensions": "x"}',
        b'{"query": "{ __typename }", "operationName": 7}',
    ],
)
async def test_malformed_http_requests_are_400_under_both_media_types(
    api: RunningApi, accept: str, payload: bytes
) -> None:
    """Status Codes, "JSON parsing failure" and "Invalid parameters": a request that is not a
    well-formed GraphQL-over-HTTP request is 4xx (400) whatever the media type."""
    status, _, body = await call(api, body=payload, accept=accept)
    assert status == 400, body
    assert code(body) == "BAD_REQUEST"
    assert "data" not in body


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_unsupported_or_missing_content_type_is_415(
    api: RunningApi, content_type: str | None
) -> None:
    """POST: "If the client does not supply a Content-Type header with a POST request, the
    server SHOULD reject the request using the appropriate 4xx status code"; Status Codes:
    unsupported Content-Type: 415."""
    status, _, body = await call(
        api, body=b'{"query": "{ __typename }"}', content_type=content_type
    )
    assert status == 415, body
    assert code(body) == "UNSUPPORTED_MEDIA_TYPE"


async def test_post_assumes_utf8_and_ignores_unknown_properties(api: RunningApi) -> None:
    """POST: "the server MUST assume the encoding is utf-8"; JSON Encoding: "Servers
    receiving a request with additional properties MUST ignore properties they do not
    understand"; "Specifying null for optional request parameters is equivalent to not
    specifying them at all"."""
    status, _, body = await call(
        api,
        body={"query": "{ __typename }", "operationName": None, "variables": None, "x": 1},
        content_type="application/json",
    )
    assert status == 200, body
    assert body["data"] == {"__typename": "Query"}


async def test_field_errors_keep_200_with_data(api: RunningApi) -> None:
    """Status Codes, "Field errors encountered during execution": 200 with {data} (here
    null at the failing field) and {errors}, under both media types."""
    query = '{ prison(code: "ZZZ") { name } }'
    for accept in (GQL, JSON):
        status, _, body = await call(api, body={"query": query}, accept=accept)
        assert status == 200, body
        assert "data" in body


# --- GET ---------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", [GQL, JSON])
async def test_get_runs_a_query_with_url_encoded_variables(api: RunningApi, accept: str) -> None:
    """GET: parameters "in the query component of the request URL, encoded in the
    application/x-www-form-urlencoded format"; {variables} "encoded as a JSON string"."""
    status, headers, body = await call(
        api,
        "GET",
        params={
            "query": "query P($code: String!) { prison(code: $code) { code } }",
            "variables": json.dumps({"code": "LEI"}),
        },
        accept=accept,
    )
    assert status == 200, body
    assert body["data"] == {"prison": {"code": "LEI"}}
    assert headers["Content-Type"] == f"{accept}; charset=utf-8"
    assert headers["Cache-Control"] == "private, no-store"
    assert headers["Vary"] == "Authorization, Accept"


async def test_get_empty_optional_parameters_are_absent(api: RunningApi) -> None:
    """GET: "Specifying the empty string for optional request parameters is equivalent to
    not specifying them at all"."""
    status, _, body = await call(
        api,
        "GET",
        params={"query": TYPENAME, "variables": "", "operationName": "", "extensions": ""},
    )
    assert status == 200, body
    assert body["data"] == {"__typename": "Query"}


async def test_get_operation_name_selects_the_operation(small_apq: RunningApi) -> None:
    """GET: {operationName} "represents the name of the operation to be executed within the
    {query}"; `operationName=null` names an operation called "null"."""
    document = "query A { a: __typename } query null { n: __typename }"
    status, _, body = await call(small_apq, "GET", params={"query": document, "operationName": "A"})
    assert (status, body["data"]) == (200, {"a": "Query"})
    status, _, body = await call(
        small_apq, "GET", params={"query": document, "operationName": "null"}
    )
    assert (status, body["data"]) == (200, {"n": "Query"})


@pytest.mark.parametrize("accept", [GQL, JSON])
async def test_mutation_over_get_is_405_with_allow(small_apq: RunningApi, accept: str) -> None:
    """GET: "GET requests MUST NOT be used for executing mutation operations ... status code
    405 (Method Not Allowed) is RECOMMENDED"; "the Allow header must be included"."""
    document = "query Q { __typename } mutation M { __typename }"
    status, headers, body = await call(
        small_apq, "GET", params={"query": document, "operationName": "M"}, accept=accept
    )
    assert status == 405, body
    assert headers["Allow"] == "POST"
    assert code(body) == "METHOD_NOT_ALLOWED"
    assert "data" not in body
    # The same document's query runs over GET.
    status, _, body = await call(small_apq, "GET", params={"query": document, "operationName": "Q"})
    assert status == 200, body


@pytest.mark.parametrize(
    "params",
    [
        {"query": TYPENAME, "variables": "[1]"},
        {"query": TYPENAME, "variables": "not json"},
        {"query": TYPENAME, "extensions": "[]"},
        {"query": TYPENAME, "extensions": "{"},
        {"variables": "{}"},
    ],
)
async def test_get_bad_parameters_are_400(api: RunningApi, params: dict[str, str]) -> None:
    """GET: {variables} and {extensions} "MUST be encoded as a JSON string" of a map
    (Request Parameters: map); {query} is required: not a well-formed request, 400."""
    for accept in (GQL, JSON):
        status, _, body = await call(api, "GET", params=params, accept=accept)
        assert status == 400, (params, body)
        assert code(body) == "BAD_REQUEST"


async def test_browser_get_without_query_gets_graphiql_in_dev(api: RunningApi) -> None:
    """URL: "Server URLs which enable GraphQL requests MAY also be used for other
    purposes": a browser (HTML wanted, no GraphQL parameters) gets GraphiQL in dev; with a
    `query` parameter the same browser gets the GraphQL answer."""
    accept = "text/html,application/xhtml+xml,*/*;q=0.8"
    status, headers, _ = await call(api, "GET", accept=accept, token=False)
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    status, headers, body = await call(api, "GET", params={"query": TYPENAME}, accept=accept)
    assert status == 200, body
    assert body["data"] == {"__typename": "Query"}
    assert headers["Content-Type"] == f"{GQL}; charset=utf-8"


# --- Automatic persisted queries -----------------------------------------------------------


async def test_apq_miss_then_register_then_hit(api: RunningApi) -> None:
    """A hash alone is unknown at first (PERSISTED_QUERY_NOT_FOUND: 200 under application/json
    as Apollo clients expect, 400 under graphql-response+json, a request error); the query
    with its hash runs and stores it; the hash alone then runs it, over POST and GET."""
    query = "query ApqHit { hit: __typename }"
    digest = sha(query)
    status, _, body = await call(api, body={"extensions": persisted(digest)}, accept=JSON)
    assert (status, code(body)) == (200, "PERSISTED_QUERY_NOT_FOUND"), body
    assert body["errors"][0]["message"] == "PersistedQueryNotFound"
    status, _, body = await call(api, body={"extensions": persisted(digest)}, accept=GQL)
    assert (status, code(body)) == (400, "PERSISTED_QUERY_NOT_FOUND"), body

    status, _, body = await call(api, body={"query": query, "extensions": persisted(digest)})
    assert (status, body["data"]) == (200, {"hit": "Query"})

    status, _, body = await call(api, body={"extensions": persisted(digest)})
    assert (status, body["data"]) == (200, {"hit": "Query"})
    status, _, body = await call(
        api, "GET", params={"extensions": json.dumps(persisted(digest))}, accept=JSON
    )
    assert (status, body["data"]) == (200, {"hit": "Query"})


async def test_apq_register_over_get(api: RunningApi) -> None:
    """A UI can register and then send hashes over GET alone."""
    query = "query ApqGet { viaGet: __typename }"
    extensions = json.dumps(persisted(sha(query)))
    status, _, body = await call(api, "GET", params={"query": query, "extensions": extensions})
    assert (status, body["data"]) == (200, {"viaGet": "Query"})
    status, headers, body = await call(api, "GET", params={"extensions": extensions})
    assert (status, body["data"]) == (200, {"viaGet": "Query"})
    assert headers["Cache-Control"] == "private, no-store"


async def test_apq_mutation_by_hash_over_get_is_405(api: RunningApi) -> None:
    """A persisted mutation is still a mutation: refused over GET with 405."""
    query = "mutation ApqMutation { __typename }"
    status, _, body = await call(
        api, "GET", params={"query": query, "extensions": json.dumps(persisted(sha(query)))}
    )
    assert status == 405, body


@pytest.mark.parametrize("accept", [GQL, JSON])
async def test_apq_hash_mismatch_is_400(api: RunningApi, accept: str) -> None:
    """A query whose SHA-256 is not the hash sent is refused and not stored."""
    digest = sha("{ something else }")
    status, _, body = await call(
        api, body={"query": TYPENAME, "extensions": persisted(digest)}, accept=accept
    )
    assert (status, code(body)) == (400, "PERSISTED_QUERY_HASH_MISMATCH"), body
    status, _, body = await call(api, body={"extensions": persisted(digest)})
    assert code(body) == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    ("extensions", "expected"),
    [
        (persisted(sha(TYPENAME), version=2), "PERSISTED_QUERY_VERSION_NOT_SUPPORTED"),
        (
            {"persistedQuery": {"sha256Hash": sha(TYPENAME)}},
            "PERSISTED_QUERY_VERSION_NOT_SUPPORTED",
        ),
        ({"persistedQuery": {"version": 1, "sha256Hash": "abc"}}, "BAD_REQUEST"),
        ({"persistedQuery": "yes"}, "BAD_REQUEST"),
    ],
)
async def test_apq_bad_extension_is_400(
    api: RunningApi, extensions: dict[str, Any], expected: str
) -> None:
    """An unsupported version, or a malformed `persistedQuery`, is a bad request (400)."""
    for accept in (GQL, JSON):
        status, _, body = await call(
            api, body={"query": TYPENAME, "extensions": extensions}, accept=accept
        )
        assert (status, code(body)) == (400, expected), body


async def test_apq_stores_only_validated_documents(api: RunningApi) -> None:
    """A document that fails validation is answered with its errors and not stored."""
    query = "{ apqNoSuchField }"
    status, _, body = await call(api, body={"query": query, "extensions": persisted(sha(query))})
    assert (status, code(body)) == (400, "GRAPHQL_VALIDATION_FAILED"), body
    status, _, body = await call(api, body={"extensions": persisted(sha(query))})
    assert code(body) == "PERSISTED_QUERY_NOT_FOUND"


async def test_apq_documents_keep_the_limits(api: RunningApi) -> None:
    """A persisted document runs through the same limits as any other: one over the
    depth limit is refused when registered, so never stored."""
    depth = api.settings.max_depth + 2
    query = (
        "{ __schema { " + "types { fields { type { " * depth + "name" + " } } }" * depth + " } }"
    )
    status, _, body = await call(api, body={"query": query, "extensions": persisted(sha(query))})
    assert status == 400, body
    status, _, body = await call(api, body={"extensions": persisted(sha(query))})
    assert code(body) == "PERSISTED_QUERY_NOT_FOUND"


@pytest.fixture
async def small_apq(sandbox: Sandbox, database_url: str) -> AsyncIterator[RunningApi]:
    """An API keeping two persisted queries, and allowing two operations per document
    (so `operationName` has a choice to make)."""
    settings = settings_for(sandbox, database_url, apq_cache_size=2, max_operations=2)
    async with running_api(settings, sandbox) as running:
        yield running


async def test_apq_store_is_bounded(small_apq: RunningApi) -> None:
    """The store keeps `apq_cache_size` documents, least recently used evicted first;
    an evicted hash is just a miss (the client resends the query)."""
    queries = [f"query Bound{i} {{ __typename }}" for i in range(3)]
    for query in queries[:2]:
        status, _, body = await call(
            small_apq, body={"query": query, "extensions": persisted(sha(query))}
        )
        assert status == 200, body
    # Touch the first, so the second is the least recently used.
    status, _, body = await call(small_apq, body={"extensions": persisted(sha(queries[0]))})
    assert status == 200, body
    status, _, body = await call(
        small_apq, body={"query": queries[2], "extensions": persisted(sha(queries[2]))}
    )
    assert status == 200, body
    found = {}
    for query in queries:
        status, _, body = await call(
            small_apq, body={"extensions": persisted(sha(query))}, accept=JSON
        )
        found[query] = "data" in body
    assert found == {queries[0]: True, queries[1]: False, queries[2]: True}


async def test_other_methods_are_405(api: RunningApi) -> None:
    """Status Codes: "If the request uses an unsupported HTTP method, status code 405"."""
    async with (
        aiohttp.ClientSession() as http,
        http.put(f"{api.url}/graphql", data=b"{}") as response,
    ):
        assert response.status == 405
        assert "GET" in response.headers["Allow"]
        assert "POST" in response.headers["Allow"]


async def test_head_is_read_like_get(api: RunningApi) -> None:
    """HEAD (which Starlette answers on GET routes) reads its parameters from the URL like
    GET, with GET's status and headers and no body (RFC 9110, as the spec requires)."""
    status, headers, body = await call(api, "HEAD", params={"query": TYPENAME})
    assert status == 200
    assert headers["Content-Type"] == f"{GQL}; charset=utf-8"
    assert headers["Cache-Control"] == "private, no-store"
    assert body == b""
