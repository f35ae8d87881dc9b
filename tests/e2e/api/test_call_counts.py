"""N+1 is pinned: upstream requests and SQL statements are exact and do not grow
with the page size. Reads-only data for these pages is inserted straight into
Postgres (fast, and independent of what other tests allocate)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from allocation_api.paging import encode_cursor
from allocation_api.store.urls import asyncpg_url
from tests.conftest import RunningApi
from tests.e2e.api.test_queries import expected_roster

START = 100  # page positions 100.. of the roster are left alone by other tests

PRISON_PAGE = """query($n: Int!, $after: String) { prison(code: "BXI") {
  prisoners(first: $n, after: $after) { nodes {
    offenderNo firstName lastName responsibility
    caseInformation { tier }
    allocation { primaryPom { firstName lastName } }
} } } }"""

CASELOAD = """query($id: Int!, $n: Int!) { pom(staffId: $id, prisonCode: "MDI") {
  caseload(first: $n) { nodes { offenderNo
    prisoner { firstName lastName sentence { releaseDate } }
    secondaryPom { firstName lastName } } } } }"""


async def _insert_cases(
    database_url: str, rows: list[tuple[str, str, int, int | None]], tier: str = "C"
) -> None:
    engine = create_async_engine(asyncpg_url(database_url))
    try:
        async with engine.begin() as conn:
            for no, prison, primary, secondary in rows:
                await conn.execute(
                    text(
                        "INSERT INTO case_information (offender_no, tier) VALUES (:no, :tier) "
                        "ON CONFLICT DO NOTHING"
                    ),
                    {"no": no, "tier": tier},
                )
                await conn.execute(
                    text(
                        "INSERT INTO allocation (offender_no, prison_code, primary_pom_staff_id,"
                        " primary_pom_name, secondary_pom_staff_id, secondary_pom_name, version)"
                        " VALUES (:no, :prison, :p, 'P', :s, :sn, 1) ON CONFLICT DO NOTHING"
                    ),
                    {
                        "no": no,
                        "prison": prison,
                        "p": primary,
                        "s": secondary,
                        "sn": None if secondary is None else "S",
                    },
                )
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
async def allocated_pages(api: RunningApi) -> AsyncIterator[dict[str, Any]]:
    data = api.sandbox.data
    bxi_poms = [p["staffId"] for p in data.active_poms("BXI")]
    bxi = expected_roster(api, "BXI")[START : START + 60]
    await _insert_cases(
        api.settings.database_url or "",
        [(no, "BXI", bxi_poms[i % 3], bxi_poms[3 + i % 3]) for i, no in enumerate(bxi)],
    )
    mdi_poms = [p["staffId"] for p in data.active_poms("MDI")]
    pom, coworkers = mdi_poms[-1], mdi_poms[:3]
    mdi = expected_roster(api, "MDI")[START : START + 50]
    await _insert_cases(
        api.settings.database_url or "",
        [(no, "MDI", pom, coworkers[i % 3] if i % 2 else None) for i, no in enumerate(mdi)],
    )
    return {"pom": pom}


async def calls_of(api: RunningApi, query: str, variables: dict[str, Any]) -> dict[str, int]:
    body = await api.gql(query, variables)
    assert "errors" not in body, body
    return body["extensions"]["calls"]  # type: ignore[no-any-return]


async def test_prison_page_cost_is_exact_and_constant(
    api: RunningApi, allocated_pages: dict[str, Any]
) -> None:
    after = encode_cursor(START - 1)
    await calls_of(api, PRISON_PAGE, {"n": 1, "after": after})  # warm token and caches
    ten = await calls_of(api, PRISON_PAGE, {"n": 10, "after": after})
    fifty = await calls_of(api, PRISON_PAGE, {"n": 50, "after": after})
    # One upstream read (the prison's roster: prisoner data is not cached in tests);
    # POM names come from the cached POM list. SQL: the owned records only (no
    # POM detail field is selected, so the POM details are not read).
    assert ten == fifty == {"upstream": 1, "store": 1}


async def test_caseload_cost_is_exact_and_constant(
    api: RunningApi, allocated_pages: dict[str, Any]
) -> None:
    variables = {"id": allocated_pages["pom"]}
    await calls_of(api, CASELOAD, {**variables, "n": 1})
    five = await calls_of(api, CASELOAD, {**variables, "n": 5})
    fifty = await calls_of(api, CASELOAD, {**variables, "n": 50})
    # With the POM list cached, the only upstream read is the batch of prisoners.
    # SQL: the POM's details (`pom` resolves them with the POM) and the caseload;
    # the co-workers are asked for names only, so their details are not read.
    assert five == fifty, (five, fifty)
    assert fifty["upstream"] == 1
    assert fifty == {"upstream": 1, "store": 2}


async def test_page_without_owned_fields_reads_no_owned_data(
    api: RunningApi, allocated_pages: dict[str, Any]
) -> None:
    after = encode_cursor(START - 1)
    names_only = """query($after: String) { prison(code: "BXI") {
      prisoners(first: 50, after: $after) { nodes { offenderNo lastName } } } }"""
    await calls_of(api, names_only, {"after": after})
    assert await calls_of(api, names_only, {"after": after}) == {"upstream": 1, "store": 0}


async def test_owned_fields_through_fragments_cost_the_same(
    api: RunningApi, allocated_pages: dict[str, Any]
) -> None:
    after = encode_cursor(START - 1)
    with_fragments = """query($after: String) { prison(code: "BXI") {
      prisoners(first: 50, after: $after) { ...Page } } }
      fragment Page on PrisonerConnection { nodes { offenderNo ... on Prisoner { ...Owned } } }
      fragment Owned on Prisoner { responsibility caseInformation { tier }
        allocation { primaryPom { lastName } } }"""
    await calls_of(api, with_fragments, {"after": after})
    body = await api.gql(with_fragments, {"after": after})
    assert body["extensions"]["calls"] == {"upstream": 1, "store": 1}
    nodes = body["data"]["prison"]["prisoners"]["nodes"]
    assert all(n["allocation"]["primaryPom"]["lastName"] for n in nodes)
    assert all(n["responsibility"] for n in nodes)


POM_DETAILS_ON_PAGE = """query($after: String) { prison(code: "BXI") {
  prisoners(first: 30, after: $after) { nodes { offenderNo
    allocation { primaryPom { staffId ...Details } secondaryPom { staffId } } } } } }
  fragment Details on Pom { status workingPattern }"""

POM_DETAILS_ON_CASELOAD = """query($id: Int!) { pom(staffId: $id, prisonCode: "MDI") {
  caseload(first: 50) { nodes { offenderNo
    secondaryPom { staffId ... on Pom { workingPattern status } } } } } }"""


async def _record_pom_details(database_url: str, prison: str, staff_id: int) -> None:
    """Recorded details (half time, inactive) differ from the defaults in every field."""
    engine = create_async_engine(asyncpg_url(database_url))
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO pom_detail (staff_id, prison_code, working_pattern, status)"
                    " VALUES (:id, :prison, 0.5, 'INACTIVE')"
                    " ON CONFLICT (staff_id, prison_code) DO UPDATE"
                    " SET working_pattern = 0.5, status = 'INACTIVE'"
                ),
                {"id": staff_id, "prison": prison},
            )
    finally:
        await engine.dispose()


async def test_pom_detail_fields_on_a_page_cost_one_statement_and_answer_the_record(
    api: RunningApi, allocated_pages: dict[str, Any]
) -> None:
    """Selecting `status` or `workingPattern` (here through a fragment) reads the POM
    details, in one more statement for the whole page; the values are the recorded
    ones, not defaults."""
    recorded = api.sandbox.data.active_poms("BXI")[0]["staffId"]
    await _record_pom_details(api.settings.database_url or "", "BXI", recorded)
    after = encode_cursor(START - 1)
    await calls_of(api, POM_DETAILS_ON_PAGE, {"after": after})
    body = await api.gql(POM_DETAILS_ON_PAGE, {"after": after})
    assert "errors" not in body, body
    assert body["extensions"]["calls"] == {"upstream": 1, "store": 2}
    primaries = [
        n["allocation"]["primaryPom"] for n in body["data"]["prison"]["prisoners"]["nodes"]
    ]
    assert {p["staffId"] for p in primaries} >= {recorded}
    for pom in primaries:
        if pom["staffId"] == recorded:
            assert (pom["status"], pom["workingPattern"]) == ("INACTIVE", 0.5)
        else:
            assert pom["status"] == "ACTIVE"


async def test_pom_detail_fields_on_a_caseload_cost_one_statement(
    api: RunningApi, allocated_pages: dict[str, Any]
) -> None:
    variables = {"id": allocated_pages["pom"]}
    await calls_of(api, POM_DETAILS_ON_CASELOAD, variables)
    body = await api.gql(POM_DETAILS_ON_CASELOAD, variables)
    assert "errors" not in body, body
    assert body["extensions"]["calls"] == {"upstream": 0, "store": 3}
    coworkers = [n["secondaryPom"] for n in body["data"]["pom"]["caseload"]["nodes"]]
    assert any(c is not None for c in coworkers)
    assert all(c is None or c["status"] in {"ACTIVE", "INACTIVE"} for c in coworkers)
    assert all(c is None or 0.1 <= c["workingPattern"] <= 1.0 for c in coworkers)


CASELOAD_PRISONER_DATA = """query($id: Int!, $n: Int!) { pom(staffId: $id, prisonCode: "MDI") {
  caseload(first: $n) { nodes { offenderNo
    prisoner { prisonId cellLocation dateOfBirth category }
    history { event createdBy } } } } }"""

CASELOAD_HISTORY_ONLY = """query($id: Int!, $n: Int!) { pom(staffId: $id, prisonCode: "MDI") {
  caseload(first: $n) { nodes { offenderNo history { event } } } } }"""

CO_WORKERS_CASELOADS = """query($id: Int!, $n: Int!) { pom(staffId: $id, prisonCode: "MDI") {
  caseload(first: $n) { nodes { offenderNo secondaryPom { staffId
    caseload(first: $n) { nodes { offenderNo prisoner { prisonId } history { event } } } } } } } }"""


@pytest.mark.parametrize("caller", ["manager", "reading service"])
async def test_caseload_prisoner_data_is_checked_from_the_page_batch(
    api: RunningApi, allocated_pages: dict[str, Any], caller: str
) -> None:
    """Each node's prisoner and history are decided on the prisoner's current prison
    from the page's one batch of prisoners: no upstream call per node."""
    token = await api.token(None, ("ROLE_VIEW_POM_ALLOCATIONS",)) if caller != "manager" else None
    variables = {"id": allocated_pages["pom"]}

    async def calls(query: str, n: int) -> dict[str, int]:
        body = await api.gql(query, {**variables, "n": n}, token=token)
        assert "errors" not in body, body
        return body["extensions"]["calls"]  # type: ignore[no-any-return]

    await calls(CASELOAD_PRISONER_DATA, 1)
    # Upstream: the page's prisoners. SQL: the POM's details, the caseload, the events.
    assert await calls(CASELOAD_PRISONER_DATA, 5) == {"upstream": 1, "store": 3}
    assert await calls(CASELOAD_PRISONER_DATA, 50) == {"upstream": 1, "store": 3}
    # History alone still needs the prisoners' prisons: the same one batch.
    assert await calls(CASELOAD_HISTORY_ONLY, 50) == {"upstream": 1, "store": 3}


async def test_nested_caseloads_check_prisoner_data_per_page_not_per_node(
    api: RunningApi, allocated_pages: dict[str, Any]
) -> None:
    """Through co-workers' caseloads (another page per co-worker), the checks cost one
    batch of prisoners per level, whatever the number of nodes."""
    variables = {"id": allocated_pages["pom"]}
    await calls_of(api, CO_WORKERS_CASELOADS, {**variables, "n": 1})
    five = await calls_of(api, CO_WORKERS_CASELOADS, {**variables, "n": 5})
    # 20 x 20 nodes (the cost budget refuses 50 x 50 with history).
    twenty = await calls_of(api, CO_WORKERS_CASELOADS, {**variables, "n": 20})
    # Upstream: the outer page's co-workers come from the cached POM list; the inner
    # pages' prisoners are one batch (the loaders batch the three co-workers' pages).
    # SQL: POM details, outer caseload, the co-workers' caseloads, the events.
    assert five == twenty, (five, twenty)
    assert twenty == {"upstream": 1, "store": 4}


POM_EMAILS = """{ prison(code: "BXI") { poms { staffId lastName email } } }"""


async def test_pom_emails_cost_one_read_per_pom_once_then_none(api: RunningApi) -> None:
    """Emails come from NOMIS user roles, one account read per POM (there is no
    batch read by staff id), shared by every caller until the cache expires; a
    list that does not ask for `email` reads none."""
    caches = api.app.state.services.caches
    for row in api.sandbox.data.poms("BXI"):
        caches.user_by_staff_id.invalidate(row["staffId"])
    names_only = """{ prison(code: "BXI") { poms { staffId lastName } } }"""
    await calls_of(api, names_only, {})  # the POM list itself, cached from here on
    # The owned POM details in one statement; no upstream read.
    assert await calls_of(api, names_only, {}) == {"upstream": 0, "store": 1}

    listed = (await api.gql(names_only))["data"]["prison"]["poms"]
    assert len(listed) > 1
    first = await api.gql(POM_EMAILS)
    assert "errors" not in first, first
    assert first["extensions"]["calls"] == {"upstream": len(listed), "store": 1}
    assert await calls_of(api, POM_EMAILS, {}) == {"upstream": 0, "store": 1}
    for pom in first["data"]["prison"]["poms"]:
        user = api.sandbox.data.user_for_staff(pom["staffId"])
        assert pom["email"] == (None if user is None else user.email)
