"""A request leaves nothing for the cyclic garbage collector.

Reference counting frees a request's objects (its executor, context, loaders
and everything they read) the moment the response is sent, unless some of
them refer to each other in a cycle: then all of it waits for the cyclic
collector, which then runs every few hundred requests and traverses tens of
thousands of dead objects each time (about 4% of a prison page's CPU, and
the slowest responses, before these cycles were broken). Counted exactly:
the objects the collector finds after a few requests, with the collector's
own `DEBUG_SAVEALL` so that it keeps them for inspection.

The client runs in the same process; its own objects are not the service's,
so only objects of the modules below count. (SQLAlchemy, not counted, leaves
a handful of small expression objects per write: a comparator cycle.)
"""

from __future__ import annotations

import collections
import gc
from collections.abc import Awaitable, Callable

import pytest

from tests.conftest import RunningApi
from tests.e2e.api.helpers import active_poms, allocate, ready_prisoner_and_pom

SERVICE_MODULES = ("allocation_api", "graphql", "strawberry", "tenacity", "starlette")

PAGE = """{ prison(code: "LEI") { prisoners(first: 50) { totalCount nodes {
  offenderNo firstName lastName caseInformation { tier } responsibility
  allocation { primaryPom { staffId firstName lastName status } } } } } }"""

CASELOAD = """query($id: Int!) { pom(staffId: $id, prisonCode: "MDI") {
  staffId firstName status caseloadCounts { total }
  caseload(first: 50) { nodes { offenderNo
    prisoner { firstName lastName sentence { releaseDate } }
    secondaryPom { firstName lastName } } } } }"""

PRISONER = """query($no: String!) { prisoner(offenderNo: $no) { offenderNo firstName
  caseInformation { tier } responsibility recommendedPomType handover { handoverDate }
  allocation { primaryPom { firstName } history { event trigger createdAt } } } }"""


def _service_objects(garbage: list[object]) -> collections.Counter[str]:
    found: collections.Counter[str] = collections.Counter()
    for thing in garbage:
        kind = type(thing)
        if kind.__module__.split(".")[0] in SERVICE_MODULES:
            found[f"{kind.__module__}.{kind.__qualname__}"] += 1
    return found


async def _left_in_cycles(send: Callable[[], Awaitable[object]]) -> collections.Counter[str]:
    """Service objects in cycles after three sends (one before, to warm every cache)."""
    await send()
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(3):
            await send()
        gc.collect()
        return _service_objects(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


async def test_a_prison_page_leaves_no_cycles(api: RunningApi) -> None:
    token = await api.token()
    assert not await _left_in_cycles(lambda: api.gql(PAGE, token=token))


async def test_a_caseload_and_a_prisoner_with_history_leave_no_cycles(api: RunningApi) -> None:
    no, pom = await ready_prisoner_and_pom(api, "MDI")
    assert (await allocate(api, no, pom["staffId"]))["__typename"] == "Allocation"
    token = await api.token()

    async def both() -> None:
        caseload = await api.gql(CASELOAD, {"id": pom["staffId"]}, token=token)
        assert "errors" not in caseload, caseload
        prisoner = await api.gql(PRISONER, {"no": no}, token=token)
        assert "errors" not in prisoner, prisoner

    assert not await _left_in_cycles(both)


async def test_an_allocation_leaves_no_cycles(api: RunningApi) -> None:
    no, pom = await ready_prisoner_and_pom(api)
    other = next(
        p for p in await active_poms(api, "LEI", pom["pomType"]) if p["staffId"] != pom["staffId"]
    )
    rotation = [pom["staffId"], other["staffId"]]

    async def reallocate() -> None:
        rotation.reverse()
        assert (await allocate(api, no, rotation[0]))["__typename"] == "Allocation"

    assert not await _left_in_cycles(reallocate)


@pytest.mark.parametrize(
    "document",
    [
        '{ prison(code: "ZZZ") { prisoners(first: 5) { totalCount } } }',  # not in caseloads
        '{ prisoner(offenderNo: "not a number") { offenderNo } }',  # typed input error
    ],
)
async def test_an_error_answer_leaves_no_cycles(api: RunningApi, document: str) -> None:
    token = await api.token()

    async def send() -> None:
        body = await api.gql(document, token=token)
        assert body.get("errors"), body

    assert not await _left_in_cycles(send)
