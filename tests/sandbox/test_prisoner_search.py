"""The fake prisoner search over HTTP: Spring pages, batch lookup, 404s, auth."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from allocation_api.sandbox import mint_token
from allocation_api.sandbox.keys import SANDBOX_KID

from .conftest import FakeClient

PAGE_KEYS = {
    "content",
    "pageable",
    "totalElements",
    "totalPages",
    "last",
    "size",
    "number",
    "sort",
    "numberOfElements",
    "first",
    "empty",
}


def _no_nulls(value: Any) -> bool:
    if isinstance(value, dict):
        return all(v is not None and _no_nulls(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_nulls(v) for v in value)
    return True


async def test_prison_page_has_the_spring_shape(fakes: FakeClient) -> None:
    reply = await fakes.get("prisoner-search", "/prisoner-search/prison/LEI?page=1&size=7")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    page = reply.json()
    assert list(page) == [  # Spring's own key order
        "content",
        "pageable",
        "totalElements",
        "totalPages",
        "last",
        "size",
        "number",
        "sort",
        "numberOfElements",
        "first",
        "empty",
    ]
    total = len(fakes.sandbox.data.prisoner_numbers("LEI"))
    assert (page["totalElements"], page["totalPages"]) == (total, -(-total // 7))
    assert (page["number"], page["size"], page["numberOfElements"]) == (1, 7, 7)
    assert (page["first"], page["last"], page["empty"]) == (False, False, False)
    assert page["pageable"] == {
        "pageNumber": 1,
        "pageSize": 7,
        "sort": {"empty": True, "sorted": False, "unsorted": True},
        "offset": 7,
        "paged": True,
        "unpaged": False,
    }
    assert [p["prisonerNumber"] for p in page["content"]] == fakes.sandbox.data.prisoner_numbers(
        "LEI"
    )[7:14]


async def test_paging_walks_every_prisoner_once(fakes: FakeClient) -> None:
    seen: list[str] = []
    page_no, last = 0, False
    while not last:
        page = (
            await fakes.get(
                "prisoner-search", f"/prisoner-search/prison/MDI?page={page_no}&size=100"
            )
        ).json()
        seen += [p["prisonerNumber"] for p in page["content"]]
        last, page_no = page["last"], page_no + 1
        assert page_no < 100
    assert seen == fakes.sandbox.data.prisoner_numbers("MDI")


async def test_size_defaults_to_ten(fakes: FakeClient) -> None:
    page = (await fakes.get("prisoner-search", "/prisoner-search/prison/LEI")).json()
    assert (page["size"], page["number"], page["numberOfElements"]) == (10, 0, 10)
    assert page["first"] is True


@pytest.mark.parametrize(
    "path", ["/prisoner-search/prison/LEI?page=999", "/prisoner-search/prison/XXX"]
)
async def test_no_hits_or_past_the_end_report_zero(fakes: FakeClient, path: str) -> None:
    page = (await fakes.get("prisoner-search", path)).json()
    assert page["content"] == []
    assert page["totalElements"] == 0
    assert page["totalPages"] == 0
    assert page["empty"] is True
    assert page["last"] is True
    assert page["numberOfElements"] == 0


async def test_prison_list_wants_a_json_content_type(fakes: FakeClient) -> None:
    reply = await fakes.get(
        "prisoner-search", "/prisoner-search/prison/LEI", headers={"Content-Type": "text/plain"}
    )
    assert reply.status == 415
    assert reply.json()["status"] == 415


async def test_bad_paging_parameter_is_a_400(fakes: FakeClient) -> None:
    reply = await fakes.get("prisoner-search", "/prisoner-search/prison/LEI?page=two")
    assert reply.status == 400
    assert "page" in reply.json()["developerMessage"]


async def test_prisoner_json_omits_nulls_and_keeps_the_conventions(fakes: FakeClient) -> None:
    remand = fakes.sandbox.data.sample_prisoners(
        "LEI", lambda p: p["legalStatus"] == "REMAND", seed=2
    )[0]
    reply = await fakes.get("prisoner-search", f"/prisoner/{remand['prisonerNumber']}")
    body = reply.json()
    assert body == remand
    assert "releaseDate" not in body
    assert "sentenceStartDate" not in body
    assert body["restrictedPatient"] is False
    assert isinstance(body["alerts"], list)
    assert isinstance(body["bookingId"], str)
    page = (await fakes.get("prisoner-search", "/prisoner-search/prison/BXI?size=300")).json()
    assert _no_nulls(page["content"])
    assert b"null" not in reply.body


async def test_unknown_prisoner_is_a_404_with_the_search_error_body(fakes: FakeClient) -> None:
    for number in ("Z9999ZZ", "not-a-number"):
        reply = await fakes.get("prisoner-search", f"/prisoner/{number}")
        assert reply.status == 404
        body = reply.json()
        assert body["status"] == 404
        assert number in body["developerMessage"]


async def test_batch_lookup_returns_known_numbers_only(fakes: FakeClient) -> None:
    known = fakes.sandbox.data.prisoner_numbers("LEI")[:5]
    asked = [*known, "Z9999ZZ", known[0]]
    reply = await fakes.post(
        "prisoner-search", "/prisoner-search/prisoner-numbers", json={"prisonerNumbers": asked}
    )
    assert reply.status == 200
    body = reply.json()
    assert isinstance(body, list)
    assert sorted(p["prisonerNumber"] for p in body) == sorted(known)
    assert body == sorted(body, key=lambda p: p["prisonerNumber"], reverse=True)


async def test_batch_lookup_accepts_exactly_one_to_a_thousand(fakes: FakeClient) -> None:
    known = fakes.sandbox.data.prisoner_numbers()[:500]
    unknown = [f"Z{i:04d}ZZ" for i in range(501)]  # not a prefix the sandbox generates
    path = "/prisoner-search/prisoner-numbers"
    full = await fakes.post(
        "prisoner-search", path, json={"prisonerNumbers": known + unknown[:500]}
    )
    assert full.status == 200
    assert len(full.json()) == len(known) == 500
    for numbers in ([], known + unknown):
        reply = await fakes.post("prisoner-search", path, json={"prisonerNumbers": numbers})
        assert reply.status == 400
        assert reply.json()["status"] == 400
        assert "1000" in reply.json()["developerMessage"]
    for body in ({"numbers": ["A1234BC"]}, {"prisonerNumbers": [1]}):
        assert (await fakes.post("prisoner-search", path, json=body)).status == 400
    broken = await fakes.post("prisoner-search", path, data=b"{nope")
    assert broken.status == 400


async def test_data_routes_need_a_sandbox_token(fakes: FakeClient) -> None:
    issuer = fakes.sandbox.issuer
    refused = {
        "none": None,
        "garbage": "not.a.jwt",
        "wrong issuer": mint_token("https://sign-in.hmpps.service.justice.gov.uk/auth/issuer"),
        "expired": mint_token(issuer, expires_in=-10),
        "tampered": mint_token(issuer)[:-8] + "AAAAAAAA",
        "other key": jwt.encode(
            jwt.decode(mint_token(issuer), options={"verify_signature": False}),
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            algorithm="RS256",
            headers={"kid": SANDBOX_KID},
        ),
    }
    for label, token in refused.items():
        reply = await fakes.get("prisoner-search", "/prisoner/A1234BC", token=token)
        assert reply.status == 401, label
        assert reply.json()["status"] == 401
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    minted = await fakes.get("prisoner-search", "/prisoner/Z9999ZZ", token=mint_token(issuer))
    assert minted.status == 404  # past the token check
    ping = await fakes.get("prisoner-search", "/health/ping", token=None)
    assert (ping.status, ping.json()) == (200, {"status": "UP"})
