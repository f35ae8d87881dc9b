"""Seed one big prison through the API: case information, allocations, co-working POMs.

Everything goes through the public mutations with an SPO token (so the
seeded rows, history and versions are what the service itself writes), at
bounded concurrency and with the sandbox's latency at 0. The layout is
chosen for the measured operations:

- most listed prisoners get case information (every tenth is left without,
  so the MISSING_CASE_INFORMATION list is not empty) and most of those a
  primary POM of the recommended type, round robin;
- one POM ("caseload POM") gets exactly `caseload_size` (50) cases, a third
  of them with a co-working POM, for the `caseload` operation;
- `alloc_prisoners` are all allocated to POM A so the `allocate` operation
  can alternate them B, A, B...; A and B are of the type those prisoners
  are recommended, so no override reasons are needed (the API refuses
  unneeded ones with OVERRIDE_NOT_NEEDED);
- one "history prisoner" is allocated, reallocated twice and given a
  co-working POM (four events) for the `prisoner` operation.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.client import BenchError, GraphQL, nomis_staff_status

LIST_PAGE = 100  # the API's MAX_PAGE_SIZE default

POMS_QUERY = """
query SeedPoms($code: String!) {
  prison(code: $code) { poms { staffId firstName lastName pomType status } }
}"""

LIST_QUERY = """
query SeedList($code: String!, $after: String) {
  prison(code: $code) {
    prisoners(first: 100, after: $after, filter: ALL) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        offenderNo
        caseInformation { tier }
        recommendedPomType
        allocation { primaryPom { staffId } }
      }
    }
  }
}"""

CASE_MUTATION = """
mutation SeedCase($input: CaseInformationInput!) {
  updateCaseInformation(input: $input) { __typename ... on Error { code message } }
}"""

PRIMARY_MUTATION = """
mutation SeedPrimary($input: AllocatePrimaryPomInput!) {
  allocatePrimaryPom(input: $input) { __typename ... on Error { code message } }
}"""

SECONDARY_MUTATION = """
mutation SeedSecondary($input: AllocateSecondaryPomInput!) {
  allocateSecondaryPom(input: $input) { __typename ... on Error { code message } }
}"""

CASELOAD_COUNT_QUERY = """
query SeedCaseload($staffId: Int!, $code: String!) {
  pom(staffId: $staffId, prisonCode: $code) { caseload(first: 1) { totalCount } }
}"""

# A plausible tier mix (C most common, A rare); the cycle keeps it deterministic.
_TIERS = ("C", "B", "C", "D", "C", "B", "D", "C", "A", "C")


@dataclass
class SeedResult:
    """What was seeded, and the handles the operations need."""

    prison: str
    listed: int = 0
    poms: int = 0
    usable_poms: int = 0
    case_information: int = 0
    allocated: int = 0
    coworking: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    pom_type: str = ""
    caseload_pom: int = 0
    caseload_size: int = 0
    alloc_poms: tuple[int, int] = (0, 0)
    alloc_prisoners: list[str] = field(default_factory=list)
    history_prisoner: str = ""
    history_events: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """JSON-friendly, without the long prisoner list."""
        return {
            "prison": self.prison,
            "listed_prisoners": self.listed,
            "poms": self.poms,
            "usable_poms": self.usable_poms,
            "case_information": self.case_information,
            "allocated_primary": self.allocated,
            "coworking": self.coworking,
            "refused": self.refused,
            "measured_pom_type": self.pom_type,
            "caseload_pom": self.caseload_pom,
            "caseload_size": self.caseload_size,
            "allocate_poms": list(self.alloc_poms),
            "allocate_prisoners": len(self.alloc_prisoners),
            "history_prisoner": self.history_prisoner,
            "history_events": self.history_events,
            "seconds": round(self.seconds, 1),
        }


async def list_prisoners(gql: GraphQL, prison: str) -> list[dict[str, Any]]:
    """Every prisoner on the prison's list (filter ALL), page by page."""
    nodes: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        data = await gql.run(LIST_QUERY, {"code": prison, "after": after})
        page = data["data"]["prison"]["prisoners"]
        nodes.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def _bounded(limit: int, jobs: Iterable[Callable[[], Awaitable[None]]]) -> None:
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await job()

    await asyncio.gather(*(one(job) for job in jobs))


def _progress(message: str) -> None:
    print(f"  seed: {message}", file=sys.stderr, flush=True)


async def seed_prison(
    gql: GraphQL,
    session: aiohttp.ClientSession,
    prison_api_url: str,
    prison: str,
    *,
    concurrency: int,
    caseload_size: int = 50,
    alloc_set_size: int = 100,
) -> SeedResult:
    """Seed `prison` as described in the module docstring; fails loudly when it cannot."""
    started = time.perf_counter()
    result = SeedResult(prison=prison)

    poms = (await gql.run(POMS_QUERY, {"code": prison}))["data"]["prison"]["poms"]
    result.poms = len(poms)
    nomis = await nomis_staff_status(
        session, prison_api_url, gql.token, [int(p["staffId"]) for p in poms]
    )
    usable = [
        p
        for p in poms
        if p["status"] == "ACTIVE" and nomis.get(int(p["staffId"]), "ACTIVE") == "ACTIVE"
    ]
    result.usable_poms = len(usable)

    nodes = await list_prisoners(gql, prison)
    result.listed = len(nodes)
    _progress(f"{len(nodes)} prisoners listed at {prison}, {len(usable)}/{len(poms)} usable POMs")

    async def refused(kind: str, payload: dict[str, Any]) -> None:
        key = f"{kind}:{payload.get('code', payload.get('__typename'))}"
        result.refused[key] = result.refused.get(key, 0) + 1

    # 1. case information for nine in ten
    def case_job(index: int, offender_no: str) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            variables = {
                "input": {
                    "offenderNo": offender_no,
                    "tier": _TIERS[index % len(_TIERS)],
                    "probationService": "WALES" if index % 17 == 0 else "ENGLAND",
                    "mappaLevel": index % 3,
                }
            }
            payload = (await gql.run(CASE_MUTATION, variables))["data"]["updateCaseInformation"]
            if payload["__typename"] == "CaseInformation":
                result.case_information += 1
            else:
                await refused("case", payload)

        return job

    await _bounded(
        concurrency,
        (
            case_job(i, node["offenderNo"])
            for i, node in enumerate(nodes)
            if node["caseInformation"] is None and i % 10 != 9
        ),
    )
    _progress(f"{result.case_information} case information records")

    # 2. who is ready, and of which recommended type
    nodes = await list_prisoners(gql, prison)
    ready: dict[str, list[str]] = {}
    for node in nodes:
        kind = node["recommendedPomType"]
        if node["caseInformation"] and kind and node["allocation"] is None:
            ready.setdefault(kind, []).append(node["offenderNo"])
    if not ready:
        raise BenchError("no prisoner is ready to allocate; is the prison too small?")
    by_type: dict[str, list[int]] = {}
    for pom in usable:
        if pom["pomType"]:
            by_type.setdefault(pom["pomType"], []).append(int(pom["staffId"]))
    # The measured type: the one with most ready prisoners among types with >= 3 POMs.
    candidates = [kind for kind in ready if len(by_type.get(kind, [])) >= 3]
    if not candidates:
        raise BenchError(
            f"need 3 usable POMs of one recommended type; have {by_type} (raise --poms)"
        )
    kind = max(candidates, key=lambda k: len(ready[k]))
    result.pom_type = kind
    pool = ready[kind]
    caseload_pom, pom_a, pom_b = by_type[kind][:3]
    size = min(caseload_size, len(pool) // 3)
    alloc_n = max(2, min(alloc_set_size, len(pool) - size - 1))
    if size < 1 or len(pool) < size + alloc_n + 1:
        raise BenchError(f"only {len(pool)} prisoners ready for {kind} POMs (raise --prisoners)")
    caseload_set = pool[:size]
    alloc_set = pool[size : size + alloc_n]
    history_prisoner = pool[size + alloc_n]
    general = [
        (k, no)
        for k, numbers in ready.items()
        for no in (numbers[size + alloc_n + 1 :] if k == kind else numbers)
    ]
    result.caseload_pom, result.caseload_size = caseload_pom, size
    result.alloc_poms, result.alloc_prisoners = (pom_a, pom_b), alloc_set
    result.history_prisoner = history_prisoner

    async def allocate(offender_no: str, staff_id: int, message: str) -> bool:
        variables = {"input": {"offenderNo": offender_no, "staffId": staff_id, "message": message}}
        payload = (await gql.run(PRIMARY_MUTATION, variables))["data"]["allocatePrimaryPom"]
        if payload["__typename"] == "Allocation":
            return True
        await refused("primary", payload)
        return False

    def primary_job(offender_no: str, staff_id: int) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            if await allocate(offender_no, staff_id, "benchmark seed"):
                result.allocated += 1

        return job

    # 3. primaries: the caseload POM's cases, the allocate set, most of the rest
    others = {k: [s for s in ids if s != caseload_pom] for k, ids in by_type.items()}
    jobs = [primary_job(no, caseload_pom) for no in caseload_set]
    jobs += [primary_job(no, pom_a) for no in alloc_set]
    turn: dict[str, int] = {}
    for index, (k, no) in enumerate(general):
        if index % 7 == 6 or not others.get(k):  # leave some unallocated
            continue
        ids = others[k]
        turn[k] = turn.get(k, -1) + 1
        jobs.append(primary_job(no, ids[turn[k] % len(ids)]))
    await _bounded(concurrency, jobs)
    _progress(f"{result.allocated} primary allocations")

    # 4. co-working POMs on a third of the caseload POM's cases (never the caseload POM itself)
    helpers = [int(p["staffId"]) for p in usable if int(p["staffId"]) != caseload_pom]

    def secondary_job(index: int, offender_no: str) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            variables = {
                "input": {"offenderNo": offender_no, "staffId": helpers[index % len(helpers)]}
            }
            data = await gql.run(SECONDARY_MUTATION, variables)
            payload = data["data"]["allocateSecondaryPom"]
            if payload["__typename"] == "Allocation":
                result.coworking += 1
            else:
                await refused("secondary", payload)

        return job

    await _bounded(
        concurrency, (secondary_job(i, no) for i, no in enumerate(caseload_set) if i % 3 == 0)
    )

    # 5. the history prisoner: allocate, reallocate twice, add a co-working POM
    events = 0
    for staff_id in (pom_a, pom_b, pom_a):
        events += await allocate(history_prisoner, staff_id, "benchmark history")
    variables = {"input": {"offenderNo": history_prisoner, "staffId": pom_b}}
    second = (await gql.run(SECONDARY_MUTATION, variables))["data"]["allocateSecondaryPom"]
    events += second["__typename"] == "Allocation"
    result.history_events = events

    counted = await gql.run(CASELOAD_COUNT_QUERY, {"staffId": caseload_pom, "code": prison})
    total = counted["data"]["pom"]["caseload"]["totalCount"]
    if total != size:
        raise BenchError(f"caseload POM {caseload_pom} has {total} cases, expected {size}")
    result.seconds = time.perf_counter() - started
    _progress(
        f"done in {result.seconds:.1f} s: {result.coworking} co-working, "
        f"refused {result.refused or 'none'}"
    )
    return result
