"""Concurrent writers lose nothing and fork nothing: checked from Postgres itself.

After each burst, for every prisoner touched: the current row equals the last
history event (POMs and version), versions run 1..n with no gap, and the number
of events equals the number of mutations that answered `Allocation`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

from tests.conftest import RunningApi
from tests.e2e.resilience.support import (
    ALLOCATE,
    Candidate,
    assert_clean_body,
    candidates,
    store_audit,
    successes,
)

WRITERS = 20
PRISONERS = 5


async def _send(api: RunningApi, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    status, body = await api.post({"query": query, "variables": variables}, token=await api.token())
    assert status == 200, (status, body)
    assert_clean_body(body)
    assert "errors" not in body, body
    return body["data"]["allocatePrimaryPom"]  # type: ignore[no-any-return]


def _check_against_history(
    results: list[dict[str, Any]], events: list[dict[str, Any]], no: str
) -> None:
    """Each answered version is an event of that version with the POM the answer named."""
    won = successes(results)
    assert sorted(r["version"] for r in won) == list(range(1, len(events) + 1)), (no, won)
    by_version = {e["allocation_version"]: e for e in events}
    for answer in won:
        event = by_version[answer["version"]]
        assert event["primary_pom_staff_id"] == answer["primaryPomStaffId"], (no, answer, event)


async def test_twenty_concurrent_allocations_over_five_prisoners(fault_api: RunningApi) -> None:
    cases = await candidates(fault_api, PRISONERS)
    plan: list[tuple[Candidate, dict[str, Any]]] = []
    for i in range(WRITERS):
        case = cases[i % PRISONERS]
        # Four writers per prisoner choose POMs 0, 0, 1 and 2: whoever runs after
        # another writer of the same POM finds it allocated (ALREADY_PRIMARY_POM)
        # unless a third writer got in between; the order is the race's.
        plan.append((case, case.poms[(0, 0, 1, 2)[i // PRISONERS]]))

    results = await asyncio.gather(
        *(_send(fault_api, ALLOCATE, {"input": case.input_for(pom)}) for case, pom in plan)
    )

    outcomes = Counter(r.get("code") or r["__typename"] for r in results)
    assert set(outcomes) <= {"Allocation", "ALREADY_PRIMARY_POM"}, outcomes
    audit = await store_audit(fault_api.settings.database_url or "", [c.offender_no for c in cases])
    assert audit.mismatches == []
    assert audit.events == outcomes["Allocation"]
    for case in cases:
        mine = [r for (c, _), r in zip(plan, results, strict=True) if c is case]
        _check_against_history(mine, audit.prisoners[case.offender_no].events, case.offender_no)
    print(
        f"\n[concurrent writers] requests={WRITERS} prisoners={PRISONERS} "
        f"successes={outcomes['Allocation']} already={outcomes['ALREADY_PRIMARY_POM']} "
        f"events={audit.events} mismatches={len(audit.mismatches)}"
    )


async def test_expected_version_races_have_exactly_one_winner(fault_api: RunningApi) -> None:
    cases = await candidates(fault_api, 3, min_poms=4)
    conflicts = wins = 0
    for expected in (0, 1, 2):  # 0: both race to create the row
        rounds = await asyncio.gather(
            *(
                asyncio.gather(
                    *(
                        _send(
                            fault_api,
                            ALLOCATE,
                            {"input": case.input_for(pom, expectedVersion=expected)},
                        )
                        # Two different POMs, neither the current one.
                        for pom in _two_others(case, expected)
                    )
                )
                for case in cases
            )
        )
        for pair in rounds:
            kinds = sorted(r["__typename"] for r in pair)
            assert kinds == ["Allocation", "ConflictError"], pair
            winner = next(r for r in pair if r["__typename"] == "Allocation")
            loser = next(r for r in pair if r["__typename"] == "ConflictError")
            assert winner["version"] == expected + 1
            assert loser["code"] == "STALE_VERSION"
            assert loser["currentVersion"] == expected + 1
            wins += 1
            conflicts += 1
    audit = await store_audit(fault_api.settings.database_url or "", [c.offender_no for c in cases])
    assert audit.mismatches == []
    assert audit.events == wins == 9
    print(
        f"\n[expectedVersion races] requests={2 * wins} successes={wins} "
        f"conflicts={conflicts} events={audit.events} mismatches={len(audit.mismatches)}"
    )


def _two_others(case: Candidate, round_number: int) -> list[dict[str, Any]]:
    """Round r's pair: POMs 2r and 2r+1 of the list (mod its length). With at least
    four POMs neither can be the current one (a POM of round r-1's pair), so the
    only reason to refuse either writer is the version race itself."""
    poms = case.poms
    assert len(poms) >= 4
    return [poms[(2 * round_number) % len(poms)], poms[(2 * round_number + 1) % len(poms)]]


async def test_concurrent_retries_with_one_idempotency_key_write_once(
    fault_api: RunningApi,
) -> None:
    (case,) = await candidates(fault_api, 1)
    key = f"resilience-{uuid.uuid4()}"
    query = ALLOCATE.replace(
        "... on Allocation {",
        "... on Allocation { updatedAt primaryPomAllocatedAt recommendedPomType createdBy",
    )
    variables = {"input": case.input_for(case.poms[0], idempotencyKey=key)}

    answers = await asyncio.gather(*(_send(fault_api, query, variables) for _ in range(5)))

    assert answers[0]["__typename"] == "Allocation", answers[0]
    assert all(a == answers[0] for a in answers), answers
    assert answers[0]["version"] == 1
    audit = await store_audit(fault_api.settings.database_url or "", [case.offender_no])
    assert audit.mismatches == []
    assert audit.events == 1

    # The same key for another request is refused, concurrently too, and writes nothing.
    other = {"input": case.input_for(case.poms[1], idempotencyKey=key)}
    refused = await asyncio.gather(*(_send(fault_api, query, other) for _ in range(3)))
    assert {(r["__typename"], r["code"]) for r in refused} == {
        ("ConflictError", "IDEMPOTENCY_KEY_REUSED")
    }
    audit = await store_audit(fault_api.settings.database_url or "", [case.offender_no])
    assert audit.events == 1
    print(
        f"\n[idempotent retries] requests=8 successes=5 (one write, 4 replays) "
        f"refused=3 events={audit.events} mismatches={len(audit.mismatches)}"
    )
