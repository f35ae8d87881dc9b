"""The typed upstream clients against the sandbox fakes over real HTTP.

Each test opens its own `Upstreams` (so token fetches and breakers start
fresh) against one sandbox shared by this module; counts are zeroed before
each test and faults cleared after it. Expected values come from the
sandbox's data, never from the client under test.
"""

from __future__ import annotations

import datetime as dt
import math
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from allocation_api import calls
from allocation_api.errors import ConfigurationError
from allocation_api.sandbox import Sandbox, start_sandbox
from allocation_api.settings import Settings
from allocation_api.upstream import Upstreams
from allocation_api.upstream.models import (
    Agency,
    Movement,
    Prisoner,
    StaffDetail,
    StaffRole,
    UserCaseloads,
)
from allocation_api.upstream.prison_api import PrisonApiClient
from allocation_api.upstream.prisoner_search import PrisonerSearchClient

PRISONS = ("LEI", "MDI", "BXI")
TOKEN = "POST /auth/oauth/token"


@pytest.fixture(scope="module")
async def box() -> AsyncIterator[Sandbox]:
    async with await start_sandbox(
        seed=11, prisoners_per_prison=400, prisons=PRISONS, poms_per_prison=12
    ) as sandbox:
        yield sandbox


def settings_for(box: Sandbox, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "prisoner_search_url": box.urls["prisoner-search"],
        "prison_api_url": box.urls["prison-api"],
        "nomis_user_roles_url": box.urls["nomis-user-roles"],
        "hmpps_auth_url": box.urls["hmpps-auth"],
        "client_id": box.client_id,
        "client_secret": box.client_secret,
        "upstream_connect_timeout_s": 2.0,
        "upstream_total_timeout_s": 5.0,
        "upstream_batch_size": 1000,
    }
    values.update(overrides)
    return Settings(_env_file=None, mode="dev", **values)


@pytest.fixture
async def ups(box: Sandbox) -> AsyncIterator[Upstreams]:
    box.clear_faults()
    box.reset_counts()
    async with await Upstreams.open(settings_for(box)) as upstreams:
        yield upstreams
    box.clear_faults()


def data_requests(box: Sandbox, upstream: str) -> dict[str, int]:
    return box.request_counts(upstream)


def unknown_numbers(box: Sandbox, n: int) -> list[str]:
    """Well-formed prisoner numbers the sandbox does not know."""
    known = set(box.data.prisoner_numbers())
    candidates = (f"Z{i:04d}ZZ" for i in range(10_000))
    return [c for c in candidates if c not in known][:n]


# --- prisoner search -------------------------------------------------------------


async def test_get_prisoner_maps_every_field(box: Sandbox, ups: Upstreams) -> None:
    number = box.data.prisoner_numbers("LEI")[0]
    expected = box.data.prisoner(number)
    assert expected is not None

    found = await ups.prisoner_search.get_prisoner(number)

    assert found == Prisoner.model_validate(expected)
    assert found is not None
    assert found.prisonerNumber == number
    assert found.prisonId == "LEI"
    assert found.bookingId == expected["bookingId"]
    assert found.dateOfBirth == dt.date.fromisoformat(expected["dateOfBirth"])
    assert found.legalStatus == expected["legalStatus"]
    assert data_requests(box, "prisoner-search") == {"GET /prisoner/{prisonerNumber}": 1}


async def test_unknown_prisoner_is_none_after_one_request(box: Sandbox, ups: Upstreams) -> None:
    assert await ups.prisoner_search.get_prisoner(unknown_numbers(box, 1)[0]) is None
    assert await ups.prisoner_search.get_prisoner("not a number") is None
    assert data_requests(box, "prisoner-search") == {"GET /prisoner/{prisonerNumber}": 2}


async def test_batch_of_1200_numbers_goes_in_two_requests(box: Sandbox, ups: Upstreams) -> None:
    data = box.data
    known = (
        data.prisoner_numbers("LEI") + data.prisoner_numbers("MDI") + data.prisoner_numbers("BXI")
    )
    known = known[:1100]
    unknown = unknown_numbers(box, 100)
    asked = known[:600] + unknown + known[600:] + known[:50]  # 1200 distinct + 50 repeats
    assert len(set(asked)) == 1200

    found = await ups.prisoner_search.prisoners_by_numbers(asked)

    assert [p.prisonerNumber for p in found] == known, "deduplicated, unknown absent, in order"
    assert found[0] == Prisoner.model_validate(box.data.prisoner(known[0]))
    assert data_requests(box, "prisoner-search") == {"POST /prisoner-search/prisoner-numbers": 2}


async def test_batch_chunks_follow_the_configured_batch_size(box: Sandbox) -> None:
    box.reset_counts()
    numbers = box.data.prisoner_numbers("BXI")[:250]
    async with await Upstreams.open(settings_for(box, upstream_batch_size=100)) as upstreams:
        found = await upstreams.prisoner_search.prisoners_by_numbers(numbers)
    assert [p.prisonerNumber for p in found] == numbers
    assert data_requests(box, "prisoner-search") == {"POST /prisoner-search/prisoner-numbers": 3}


async def test_empty_batches_send_nothing(box: Sandbox, ups: Upstreams) -> None:
    assert await ups.prisoner_search.prisoners_by_numbers([]) == []
    assert await ups.prison_api.staff_by_ids([]) == []
    assert await ups.prison_api.latest_movements([], ["ADM"]) == []
    assert box.total_requests() == 0, "not even a token fetch"


async def test_one_page_of_a_prison(box: Sandbox, ups: Upstreams) -> None:
    everyone = box.data.prisoner_numbers("MDI")
    page = await ups.prisoner_search.prisoners_in_prison("MDI", page=1, size=50)
    assert [p.prisonerNumber for p in page.content] == everyone[50:100]
    assert page.totalElements == len(everyone)
    assert page.totalPages == math.ceil(len(everyone) / 50)
    assert page.number == 1
    assert page.size == 50
    assert not page.first
    assert not page.last


async def test_a_page_past_the_end_is_empty(ups: Upstreams) -> None:
    page = await ups.prisoner_search.prisoners_in_prison("LEI", page=99, size=100)
    assert page.content == []
    assert page.totalElements == 0


async def test_all_prisoners_in_prison_reads_every_page(box: Sandbox, ups: Upstreams) -> None:
    client = PrisonerSearchClient(ups.prisoner_search.http, all_page_size=150)
    everyone = await client.all_prisoners_in_prison("LEI")
    expected = box.data.prisoner_numbers("LEI")
    assert [p.prisonerNumber for p in everyone] == expected
    assert data_requests(box, "prisoner-search") == {
        "GET /prisoner-search/prison/{prisonId}": math.ceil(len(expected) / 150)
    }


async def test_all_prisoners_of_a_normal_prison_is_one_request(
    box: Sandbox, ups: Upstreams
) -> None:
    everyone = await ups.prisoner_search.all_prisoners_in_prison("BXI")
    assert len(everyone) == len(box.data.prisoner_numbers("BXI"))
    assert data_requests(box, "prisoner-search") == {"GET /prisoner-search/prison/{prisonId}": 1}


async def test_all_prisoners_of_an_unknown_prison_is_empty(ups: Upstreams) -> None:
    assert await ups.prisoner_search.all_prisoners_in_prison("ZZI") == []


# --- prison-api --------------------------------------------------------------------


async def test_poms_at_prison_in_one_big_page(box: Sandbox, ups: Upstreams) -> None:
    poms = await ups.prison_api.poms_at_prison("LEI")
    assert poms == [StaffRole.model_validate(row) for row in box.data.poms("LEI")]
    assert len(poms) == 12
    first = poms[0]
    assert first.position in {"PRO", "PO"}
    assert first.hoursPerWeek is not None
    assert data_requests(box, "prison-api") == {"GET /api/staff/roles/{prisonId}/role/POM": 1}


async def test_poms_at_prison_pages_past_the_first_page(box: Sandbox, ups: Upstreams) -> None:
    client = PrisonApiClient(ups.prison_api.http, pom_page_limit=5)
    poms = await client.poms_at_prison("MDI")
    assert [p.staffId for p in poms] == box.data.pom_staff_ids("MDI")
    assert data_requests(box, "prison-api") == {"GET /api/staff/roles/{prisonId}/role/POM": 3}


async def test_poms_at_an_unknown_prison_is_empty(ups: Upstreams) -> None:
    assert await ups.prison_api.poms_at_prison("ZZI") == []


async def test_staff_by_ids_dedupes_and_skips_unknown(box: Sandbox, ups: Upstreams) -> None:
    ids = box.data.pom_staff_ids("LEI")
    found = await ups.prison_api.staff_by_ids([*ids, ids[0], 999_999_999])
    assert found == [StaffDetail.model_validate(s) for s in box.data.staff_members(ids)]
    assert {s.status for s in found} <= {"ACTIVE", "INACT"}
    assert data_requests(box, "prison-api") == {"POST /api/staff": 1}


async def test_staff_by_ids_in_chunks(box: Sandbox, ups: Upstreams) -> None:
    client = PrisonApiClient(ups.prison_api.http, batch_size=5)
    ids = box.data.pom_staff_ids("BXI")
    found = await client.staff_by_ids(ids)
    assert sorted(s.staffId for s in found) == sorted(ids)
    assert data_requests(box, "prison-api") == {"POST /api/staff": math.ceil(len(ids) / 5)}


async def test_agency(ups: Upstreams) -> None:
    assert await ups.prison_api.agency("LEI") == Agency(
        agencyId="LEI", description="HMP Leeds", agencyType="INST", active=True
    )
    assert await ups.prison_api.agency("NOPE") is None


async def test_movements_on_a_day(box: Sandbox, ups: Upstreams) -> None:
    day = dt.date.fromisoformat(box.data.movements()[-1]["movementDate"])
    found = await ups.prison_api.movements_on(day)
    expected = [Movement.model_validate(m) for m in box.data.movements_on(day)]
    assert found == expected
    assert found, "the sandbox has movements on that day"
    assert await ups.prison_api.movements_on(dt.date(1990, 1, 1)) == []


async def test_latest_movements_of_prisoners(box: Sandbox, ups: Upstreams) -> None:
    numbers = sorted({m["offenderNo"] for m in box.data.movements()})
    found = await ups.prison_api.latest_movements(numbers, ["ADM", "TRN"])
    expected = box.data.movements_for(numbers, ["ADM", "TRN"], latest_only=True)
    assert found == [Movement.model_validate(m) for m in expected]
    assert {m.movementType for m in found} <= {"ADM", "TRN"}
    assert data_requests(box, "prison-api") == {"POST /api/movements/offenders": 1}


# --- NOMIS user roles --------------------------------------------------------------


async def test_user_by_username_any_case(box: Sandbox, ups: Upstreams) -> None:
    expected = box.data.pom_user("LEI")
    user = await ups.user_roles.user(expected.username.lower())
    assert user is not None
    assert user.username == expected.username
    assert user.staffId == expected.staff_id
    assert user.firstName == expected.first_name
    assert user.lastName == expected.last_name
    assert user.activeCaseloadId == expected.active_caseload
    assert user.primaryEmail == expected.email
    assert user.dpsRoleCodes == list(expected.roles)
    assert await ups.user_roles.user("NO_SUCH_USER") is None


async def test_caseloads(box: Sandbox, ups: Upstreams) -> None:
    expected = box.data.pom_user("MDI")
    found = await ups.user_roles.caseloads(expected.username)
    assert isinstance(found, UserCaseloads)
    assert [c.id for c in found.caseloads] == list(expected.caseloads)
    assert found.activeCaseload is not None
    assert found.activeCaseload.id == expected.active_caseload
    assert found.caseloads[0].name == box.data.prison_name(found.caseloads[0].id)
    assert await ups.user_roles.caseloads("NO_SUCH_USER") is None


async def test_user_by_staff_id_maps_the_general_account(box: Sandbox, ups: Upstreams) -> None:
    expected = box.data.pom_user("BXI")
    assert expected.staff_id is not None
    user = await ups.user_roles.user_by_staff_id(expected.staff_id)
    assert user is not None
    assert user.username == expected.username
    assert user.staffId == expected.staff_id
    assert user.activeCaseloadId == expected.active_caseload
    assert user.primaryEmail == expected.email
    assert user.active is True
    assert await ups.user_roles.user_by_staff_id(999_999_999) is None


async def test_staff_without_a_login_has_no_user(box: Sandbox, ups: Upstreams) -> None:
    ids = [s["staffId"] for s in box.data.non_pom_staff()]
    without_login = next(i for i in ids if box.data.user_for_staff(i) is None)
    assert await ups.user_roles.user_by_staff_id(without_login) is None
    assert data_requests(box, "nomis-user-roles") == {"GET /users/staff/{staffId}": 1}


# --- tokens, counting, container ---------------------------------------------------


async def test_one_token_serves_many_calls_on_every_upstream(box: Sandbox, ups: Upstreams) -> None:
    number = box.data.prisoner_numbers("LEI")[3]
    for _ in range(5):
        assert await ups.prisoner_search.get_prisoner(number) is not None
    assert await ups.prison_api.agency("MDI") is not None
    assert await ups.user_roles.user(box.data.pom_user("LEI").username) is not None
    assert ups.tokens.fetches == 1
    assert data_requests(box, "hmpps-auth") == {TOKEN: 1}


async def test_every_request_counts_for_the_current_graphql_request(
    box: Sandbox, ups: Upstreams
) -> None:
    numbers = box.data.prisoner_numbers("MDI")[:30]
    with calls.track_calls() as counter:
        await ups.prisoner_search.prisoners_by_numbers(numbers)
        await ups.prison_api.poms_at_prison("MDI")
    assert counter.upstream == box.total_requests() == 3  # token + two reads
    await ups.prison_api.agency("LEI")
    assert counter.upstream == 3, "nothing counted outside the block"


async def test_pings_and_breakers_report_each_upstream(ups: Upstreams) -> None:
    assert await ups.pings() == {
        "hmpps-auth": True,
        "prisoner-search": True,
        "prison-api": True,
        "nomis-user-roles": True,
    }
    assert ups.breakers() == dict.fromkeys(
        ("hmpps-auth", "prisoner-search", "prison-api", "nomis-user-roles"), "closed"
    )
    assert await ups.prisoner_search.ping()
    assert await ups.prison_api.ping()
    assert await ups.user_roles.ping()


async def test_ping_of_a_dead_upstream_is_false(box: Sandbox) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with await Upstreams.open(settings_for(box, prison_api_url=dead)) as upstreams:
        pings = await upstreams.pings()
    assert pings["prison-api"] is False
    assert pings["prisoner-search"] is True


@pytest.mark.parametrize(
    "missing",
    [
        "prisoner_search_url",
        "prison_api_url",
        "nomis_user_roles_url",
        "hmpps_auth_url",
        "client_id",
        "client_secret",
    ],
)
async def test_open_names_the_missing_setting(box: Sandbox, missing: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        await Upstreams.open(settings_for(box, **{missing: None}))
    assert missing in raised.value.message
    assert f"ALLOCATION_API_{missing.upper()}" in raised.value.message


async def test_open_refuses_a_url_that_is_not_http(box: Sandbox) -> None:
    with pytest.raises(ConfigurationError, match="prison_api_url"):
        await Upstreams.open(settings_for(box, prison_api_url="localhost:8080"))


async def test_close_is_idempotent_and_closes_every_session(box: Sandbox) -> None:
    upstreams = await Upstreams.open(settings_for(box))
    await upstreams.close()
    await upstreams.close()
    for name in ("hmpps-auth", "prisoner-search", "prison-api", "nomis-user-roles"):
        assert upstreams.http(name).closed
