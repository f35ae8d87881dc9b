"""Write races that only the database can close, run for many rounds each.

Every invariant here is checked from Postgres itself after the writers settle:
- a POM made INACTIVE holds no current case, whatever allocations raced it;
- `expectedVersion: 0` lets exactly one creator of a record win;
- one idempotency key writes once: other requests under it are refused, and
  concurrent retries of the same request all get the one committed answer;
- a mutation checks the caller's caseloads as NOMIS has them now.

These tests use MDI, which the other resilience tests leave alone, and reset
only rows they created themselves.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from allocation_api.sandbox import Fault, Sandbox
from allocation_api.store.urls import asyncpg_url
from tests.conftest import RunningApi
from tests.e2e.api.helpers import active_poms, fresh_prisoner, recommended, set_tier
from tests.e2e.resilience.support import (
    ALLOCATE,
    DEALLOCATE,
    Candidate,
    assert_clean_body,
    store_audit,
    table_counts,
)

PRISON = "MDI"
ROUNDS = 10
STAGGER_S = 0.01  # between the starts of racing requests, so INACTIVE lands among them

T = TypeVar("T")

ALLOCATE_SECONDARY = ALLOCATE.replace("allocatePrimaryPom", "allocateSecondaryPom").replace(
    "AllocatePrimaryPomInput", "AllocateSecondaryPomInput"
)

POM_DETAILS = """mutation($input: PomDetailsInput!) { updatePomDetails(input: $input) {
  __typename ... on Pom { staffId status workingPattern }
  ... on Error { code message } ... on ConflictError { currentVersion }
  ... on ServiceUnavailableError { upstream } } }"""

CASE_INFORMATION = """mutation($input: CaseInformationInput!) { updateCaseInformation(input: $input) {
  __typename ... on CaseInformation { offenderNo tier version }
  ... on Error { code message } ... on ConflictError { currentVersion }
  ... on ServiceUnavailableError { upstream } } }"""


# --- helpers ----------------------------------------------------------------------------


async def _send(
    api: RunningApi, query: str, variables: dict[str, Any], *, token: str | None = None
) -> dict[str, Any]:
    """The mutation's payload; the response must be clean and carry no GraphQL errors."""
    status, body = await api.post(
        {"query": query, "variables": variables}, token=token or await api.token()
    )
    assert status == 200, (status, body)
    assert_clean_body(body)
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    return payload  # type: ignore[no-any-return]


async def _sql(api: RunningApi, statement: str, **params: Any) -> list[dict[str, Any]]:
    """Run one statement straight on Postgres (audits and resets of this module's rows)."""
    engine = create_async_engine(
        asyncpg_url(api.settings.database_url or ""), poolclass=pool.NullPool
    )
    try:
        async with engine.begin() as connection:
            result = await connection.execute(sa.text(statement), params)
            return [dict(row) for row in result.mappings()] if result.returns_rows else []
    finally:
        await engine.dispose()


async def _after(delay_s: float, work: Awaitable[T]) -> T:
    """`work`, started `delay_s` from now (spreads a burst; nothing is timed)."""
    await asyncio.sleep(delay_s)
    return await work


async def _ready_prisoners(api: RunningApi, count: int) -> list[Candidate]:
    """Fresh MDI prisoners with a tier, each with the POMs it may be given."""
    nomis_active = {p["staffId"] for p in api.sandbox.data.active_poms(PRISON)}
    poms = [p for p in await active_poms(api, PRISON) if p["staffId"] in nomis_active]
    found = []
    for _ in range(count):
        no = await fresh_prisoner(api, PRISON)
        await set_tier(api, no, "C")
        found.append(Candidate(no, await recommended(api, no), poms))
    return found


async def _set_pom_status(api: RunningApi, staff_id: int, status: str) -> dict[str, Any]:
    return await _send(
        api, POM_DETAILS, {"input": {"staffId": staff_id, "prisonCode": PRISON, "status": status}}
    )


# --- 1. allocations racing a POM made INACTIVE ------------------------------------------


async def test_allocations_racing_inactive_leave_the_pom_no_case(fault_api: RunningApi) -> None:
    """Per round: primary allocations of P to fresh cases and co-working allocations of
    P to cases of another POM race `updatePomDetails(P, INACTIVE)`, sent at a
    different point of the burst each round. Afterwards P holds no case, and every
    allocation that answered success was released by the INACTIVE change (it
    committed before it) with an INACTIVE_POM event."""
    group = 5
    cases = await _ready_prisoners(fault_api, 2 * group)
    primaries, co_worked = cases[:group], cases[group:]
    pom, other = cases[0].poms[0], cases[0].poms[1]
    staff_id = pom["staffId"]
    for case in co_worked:  # another POM is their primary for the whole test
        answer = await _send(fault_api, ALLOCATE, {"input": case.input_for(other)})
        assert answer["__typename"] == "Allocation", answer
    totals: Counter[str] = Counter()

    for round_number in range(ROUNDS):
        assert (await _set_pom_status(fault_api, staff_id, "ACTIVE"))["status"] == "ACTIVE"
        before = {
            r["offender_no"]: r["version"]
            for r in await _sql(
                fault_api,
                "SELECT offender_no, version FROM allocation WHERE offender_no = ANY(:nos)",
                nos=[c.offender_no for c in cases],
            )
        }
        sends: list[tuple[Candidate, Awaitable[dict[str, Any]]]] = []
        for primary, co_work in zip(primaries, co_worked, strict=True):
            sends.append((primary, _send(fault_api, ALLOCATE, {"input": primary.input_for(pom)})))
            co_input = {"offenderNo": co_work.offender_no, "staffId": staff_id}
            sends.append((co_work, _send(fault_api, ALLOCATE_SECONDARY, {"input": co_input})))
        tasks = [
            asyncio.ensure_future(_after(i * STAGGER_S, work)) for i, (_, work) in enumerate(sends)
        ]
        # Rounds differ in how far the burst has got when INACTIVE is sent.
        offset = (round_number % len(sends)) * 2 * STAGGER_S
        inactive = await _after(offset, _set_pom_status(fault_api, staff_id, "INACTIVE"))
        answers = await asyncio.gather(*tasks)

        assert inactive["__typename"] == "Pom", inactive
        assert inactive["status"] == "INACTIVE", inactive
        held = await _sql(
            fault_api,
            "SELECT offender_no FROM allocation WHERE prison_code = :prison"
            " AND (primary_pom_staff_id = :staff OR secondary_pom_staff_id = :staff)",
            prison=PRISON,
            staff=staff_id,
        )
        assert held == [], f"round {round_number}: the INACTIVE POM still holds {held}"
        for (case, _), answer in zip(sends, answers, strict=True):
            kind = answer.get("code") or answer["__typename"]
            totals[kind] += 1
            assert kind in {"Allocation", "POM_NOT_ACTIVE"}, (round_number, answer)
            if kind != "Allocation":
                continue
            # It happened before the INACTIVE change: the next event released it.
            assert answer["version"] == before.get(case.offender_no, 0) + 1, answer
            released = await _sql(
                fault_api,
                "SELECT event, trigger, previous_primary_pom_staff_id AS primary,"
                " previous_secondary_pom_staff_id AS secondary FROM allocation_event"
                " WHERE offender_no = :no AND allocation_version = :version",
                no=case.offender_no,
                version=answer["version"] + 1,
            )
            assert len(released) == 1, (round_number, case.offender_no, answer, released)
            assert released[0]["trigger"] == "INACTIVE_POM", released
            assert staff_id in (released[0]["primary"], released[0]["secondary"]), released
        won = sum(1 for a in answers if a["__typename"] == "Allocation")
        totals["mixed rounds"] += 0 < won < len(answers)

    audit = await store_audit(fault_api.settings.database_url or "", [c.offender_no for c in cases])
    assert audit.mismatches == []
    assert (await _set_pom_status(fault_api, staff_id, "ACTIVE"))["status"] == "ACTIVE"
    for case in co_worked:  # leave no case behind
        answer = await _send(fault_api, DEALLOCATE, {"input": {"offenderNo": case.offender_no}})
        assert answer["__typename"] == "Allocation", answer
    print(
        f"\n[inactive race] rounds={ROUNDS} allocations={ROUNDS * 2 * group} "
        f"successes={totals['Allocation']} (all released by INACTIVE) "
        f"refused={totals['POM_NOT_ACTIVE']} rounds with both={totals['mixed rounds']}"
    )


# --- 2. creators with expectedVersion 0 --------------------------------------------------


async def test_case_information_creators_with_version_zero_have_one_winner(
    fault_api: RunningApi,
) -> None:
    """Four creators per prisoner, ten prisoners, each round from no row: one winner
    each, the others STALE_VERSION at version 1, and the row is the winner's."""
    nos = [await fresh_prisoner(fault_api, PRISON) for _ in range(10)]
    tiers = ["A", "B", "C", "D"]
    conflicts = 0
    for round_number in range(ROUNDS):
        await _sql(fault_api, "DELETE FROM case_information WHERE offender_no = ANY(:nos)", nos=nos)
        answers = await asyncio.gather(
            *(
                _send(
                    fault_api,
                    CASE_INFORMATION,
                    {
                        "input": {
                            "offenderNo": no,
                            "tier": tier,
                            "probationService": "ENGLAND",
                            "expectedVersion": 0,
                        }
                    },
                )
                for no in nos
                for tier in tiers
            )
        )
        rows = {
            r["offender_no"]: r
            for r in await _sql(
                fault_api,
                "SELECT offender_no, tier, version FROM case_information"
                " WHERE offender_no = ANY(:nos)",
                nos=nos,
            )
        }
        for index, no in enumerate(nos):
            mine = answers[index * len(tiers) : (index + 1) * len(tiers)]
            won = [a for a in mine if a["__typename"] == "CaseInformation"]
            lost = [a for a in mine if a["__typename"] != "CaseInformation"]
            assert len(won) == 1, (round_number, no, mine)
            assert won[0]["version"] == 1
            assert {(a["code"], a["currentVersion"]) for a in lost} == {("STALE_VERSION", 1)}, lost
            assert (rows[no]["version"], rows[no]["tier"]) == (1, won[0]["tier"]), rows[no]
            conflicts += len(lost)
    print(
        f"\n[case information creators] rounds={ROUNDS} requests={ROUNDS * 40} "
        f"successes={ROUNDS * 10} stale={conflicts}"
    )


async def test_case_information_creators_without_version_lose_nothing(
    fault_api: RunningApi,
) -> None:
    """Without expectedVersion, racing creators all succeed, each at its own version,
    and the stored row is the one with the highest version (no error, no lost write)."""
    nos = [await fresh_prisoner(fault_api, PRISON) for _ in range(5)]
    tiers = ["A", "B", "C", "D"]
    for _ in range(ROUNDS // 2):
        await _sql(fault_api, "DELETE FROM case_information WHERE offender_no = ANY(:nos)", nos=nos)
        answers = await asyncio.gather(
            *(
                _send(
                    fault_api,
                    CASE_INFORMATION,
                    {"input": {"offenderNo": no, "tier": tier, "probationService": "WALES"}},
                )
                for no in nos
                for tier in tiers
            )
        )
        rows = {
            r["offender_no"]: r
            for r in await _sql(
                fault_api,
                "SELECT offender_no, tier, version FROM case_information"
                " WHERE offender_no = ANY(:nos)",
                nos=nos,
            )
        }
        for index, no in enumerate(nos):
            mine = answers[index * len(tiers) : (index + 1) * len(tiers)]
            assert {a["__typename"] for a in mine} == {"CaseInformation"}, mine
            assert sorted(a["version"] for a in mine) == [1, 2, 3, 4], mine
            last = max(mine, key=lambda a: a["version"])
            assert (rows[no]["tier"], rows[no]["version"]) == (last["tier"], 4), (rows[no], mine)


async def _bare_poms(api: RunningApi, count: int) -> list[int]:
    """MDI POMs holding no case, their details deleted (rows only this module writes)."""
    held = await _sql(
        api,
        "SELECT primary_pom_staff_id AS a, secondary_pom_staff_id AS b FROM allocation"
        " WHERE prison_code = :prison",
        prison=PRISON,
    )
    busy = {r["a"] for r in held} | {r["b"] for r in held}
    chosen = [s for s in api.sandbox.data.pom_staff_ids(PRISON) if s not in busy][-count:]
    assert len(chosen) == count, (chosen, busy)
    await _sql(
        api,
        "DELETE FROM pom_detail WHERE prison_code = :prison AND staff_id = ANY(:ids)",
        prison=PRISON,
        ids=chosen,
    )
    return chosen


async def test_pom_details_creators_with_version_zero_have_one_winner(
    fault_api: RunningApi,
) -> None:
    """Four creators per POM with expectedVersion 0: one winner, STALE_VERSION for the rest."""
    patterns = [0.2, 0.4, 0.6, 0.8]
    stale = 0
    for round_number in range(ROUNDS):
        poms = await _bare_poms(fault_api, 3)
        answers = await asyncio.gather(
            *(
                _send(
                    fault_api,
                    POM_DETAILS,
                    {
                        "input": {
                            "staffId": staff_id,
                            "prisonCode": PRISON,
                            "workingPattern": pattern,
                            "expectedVersion": 0,
                        }
                    },
                )
                for staff_id in poms
                for pattern in patterns
            )
        )
        rows = {
            r["staff_id"]: r
            for r in await _sql(
                fault_api,
                "SELECT staff_id, working_pattern::float AS pattern, version FROM pom_detail"
                " WHERE prison_code = :prison AND staff_id = ANY(:ids)",
                prison=PRISON,
                ids=poms,
            )
        }
        for index, staff_id in enumerate(poms):
            mine = answers[index * len(patterns) : (index + 1) * len(patterns)]
            won = [a for a in mine if a["__typename"] == "Pom"]
            lost = [a for a in mine if a["__typename"] != "Pom"]
            assert len(won) == 1, (round_number, staff_id, mine)
            assert {(a["code"], a["currentVersion"]) for a in lost} == {("STALE_VERSION", 1)}, lost
            row = rows[staff_id]
            assert (row["pattern"], row["version"]) == (won[0]["workingPattern"], 1), (row, mine)
            stale += len(lost)
    print(
        f"\n[pom details creators] rounds={ROUNDS} requests={ROUNDS * 12} "
        f"successes={ROUNDS * 3} stale={stale}"
    )


async def test_pom_details_writers_without_version_lose_no_field(fault_api: RunningApi) -> None:
    """One creator sets the working pattern, another the status, concurrently, from no
    row: the row ends with both (neither write replaces the other's field)."""
    for round_number in range(ROUNDS):
        poms = await _bare_poms(fault_api, 3)
        answers = await asyncio.gather(
            *(
                _send(fault_api, POM_DETAILS, {"input": {"staffId": s, "prisonCode": PRISON, **v}})
                for s in poms
                for v in ({"workingPattern": 0.3}, {"status": "UNAVAILABLE"})
            )
        )
        assert {a["__typename"] for a in answers} == {"Pom"}, answers
        rows = await _sql(
            fault_api,
            "SELECT staff_id, working_pattern::float AS pattern, status, version FROM pom_detail"
            " WHERE prison_code = :prison AND staff_id = ANY(:ids) ORDER BY staff_id",
            prison=PRISON,
            ids=poms,
        )
        assert [(r["pattern"], r["status"], r["version"]) for r in rows] == [
            (0.3, "UNAVAILABLE", 2)
        ] * len(poms), (round_number, rows)


# --- 3. idempotency keys -------------------------------------------------------------------


async def test_one_idempotency_key_over_different_prisoners_writes_once(
    fault_api: RunningApi,
) -> None:
    """Five deallocations of five prisoners under one key: exactly one writes, the
    other four are IDEMPOTENCY_KEY_REUSED; rounds re-allocate first."""
    cases = await _ready_prisoners(fault_api, 5)
    pom = cases[0].poms[1]
    nos = [c.offender_no for c in cases]
    refused = 0
    for round_number in range(ROUNDS):
        for case in cases:
            answer = await _send(fault_api, ALLOCATE, {"input": case.input_for(pom)})
            assert answer["__typename"] == "Allocation", answer
        events_before = (await store_audit(fault_api.settings.database_url or "", nos)).events
        key = f"races-{uuid.uuid4()}"
        answers = await asyncio.gather(
            *(
                _send(fault_api, DEALLOCATE, {"input": {"offenderNo": no, "idempotencyKey": key}})
                for no in nos
            )
        )
        kinds = Counter(a.get("code") or a["__typename"] for a in answers)
        assert kinds == {"Allocation": 1, "IDEMPOTENCY_KEY_REUSED": 4}, (round_number, answers)
        audit = await store_audit(fault_api.settings.database_url or "", nos)
        assert audit.mismatches == []
        assert audit.events == events_before + 1, (round_number, answers)
        winner = next(a for a in answers if a["__typename"] == "Allocation")
        still_held = [no for no in nos if audit.prisoners[no].row["primary_pom_staff_id"]]  # type: ignore[index]
        assert sorted(still_held) == sorted(set(nos) - {winner["offenderNo"]})
        refused += kinds["IDEMPOTENCY_KEY_REUSED"]
        # Leave every prisoner unallocated for the next round.
        for no in still_held:
            done = await _send(fault_api, DEALLOCATE, {"input": {"offenderNo": no}})
            assert done["__typename"] == "Allocation", done
    print(f"\n[one key, five prisoners] rounds={ROUNDS} writes={ROUNDS} refused={refused}")


async def test_concurrent_retries_of_one_request_write_once_and_answer_alike(
    fault_api: RunningApi,
) -> None:
    """Five concurrent copies of one keyed request (allocate, then deallocate): one
    write each, five equal answers; the same key from another user is refused."""
    (case,) = await _ready_prisoners(fault_api, 1)
    pom = case.poms[1]
    other_user = await fault_api.token("RACES_OTHER_SPO", caseloads=(PRISON,))
    for round_number in range(ROUNDS):
        for query, variables in (
            (ALLOCATE, {"input": case.input_for(pom)}),
            (DEALLOCATE, {"input": {"offenderNo": case.offender_no}}),
        ):
            key = f"races-{uuid.uuid4()}"
            keyed = {"input": {**variables["input"], "idempotencyKey": key}}
            before = await store_audit(fault_api.settings.database_url or "", [case.offender_no])
            answers = await asyncio.gather(*(_send(fault_api, query, keyed) for _ in range(5)))
            assert answers[0]["__typename"] == "Allocation", (round_number, answers)
            assert all(a == answers[0] for a in answers), answers
            audit = await store_audit(fault_api.settings.database_url or "", [case.offender_no])
            assert audit.mismatches == []
            assert audit.events == before.events + 1, (round_number, answers)
            # The same key and request from another user replays nothing of theirs.
            theirs = await _send(fault_api, query, keyed, token=other_user)
            assert theirs["code"] == "IDEMPOTENCY_KEY_REUSED", theirs
    print(f"\n[same request, one key] rounds={ROUNDS} requests={ROUNDS * 12} writes={2 * ROUNDS}")


async def test_a_refused_write_leaves_its_key_unused(fault_api: RunningApi) -> None:
    """The claim of a key rolls back with a refused write: the key stays free."""
    (case,) = await _ready_prisoners(fault_api, 1)
    first, second = case.poms[0], case.poms[1]
    done = await _send(fault_api, ALLOCATE, {"input": case.input_for(first)})
    assert done["__typename"] == "Allocation", done
    key = f"races-{uuid.uuid4()}"
    again = {"input": case.input_for(first, idempotencyKey=key)}
    refused = await _send(fault_api, ALLOCATE, again)
    assert refused["code"] == "ALREADY_PRIMARY_POM", refused
    other = await _send(fault_api, ALLOCATE, {"input": case.input_for(second, idempotencyKey=key)})
    assert other["__typename"] == "Allocation", other
    assert other["primaryPomStaffId"] == second["staffId"]
    rows = await _sql(
        fault_api, "SELECT request_hash FROM idempotency_key WHERE key = :key", key=key
    )
    assert len(rows) == 1
    cleanup = await _send(fault_api, DEALLOCATE, {"input": {"offenderNo": case.offender_no}})
    assert cleanup["__typename"] == "Allocation", cleanup


# --- 4. caseloads fresh for writes ----------------------------------------------------------


async def test_mutations_see_caseload_changes_at_once(fault_api: RunningApi, box: Sandbox) -> None:
    """A user moved between MDI and LEI: the next mutation, with the old token or a new
    one, is checked against the new caseloads, although reads may still be cached."""
    user = "RACES_MOVER"
    at_mdi = await fresh_prisoner(fault_api, PRISON)
    at_lei = await fresh_prisoner(fault_api, "LEI")
    old_token = await fault_api.token(user, caseloads=(PRISON,))
    db = fault_api.settings.database_url or ""

    def tier_input(no: str, tier: str) -> dict[str, Any]:
        return {"input": {"offenderNo": no, "tier": tier, "probationService": "ENGLAND"}}

    # Warm every cache of this user: a read and a write at MDI.
    read = await fault_api.gql(
        "query($no: String!) { prisoner(offenderNo: $no) { offenderNo } }",
        {"no": at_mdi},
        token=old_token,
    )
    assert read["data"]["prisoner"] == {"offenderNo": at_mdi}, read
    first = await _send(fault_api, CASE_INFORMATION, tier_input(at_mdi, "A"), token=old_token)
    assert first["__typename"] == "CaseInformation", first

    for move in range(4):
        here, there = (
            (("LEI", at_lei), (PRISON, at_mdi))
            if move % 2 == 0
            else (
                (PRISON, at_mdi),
                ("LEI", at_lei),
            )
        )
        box.data.set_user(user, caseloads=[here[0]])
        new_token = await fault_api.token(user, caseloads=(here[0],))
        for token in (old_token, new_token):
            before = await table_counts(db)
            refused = await _send(
                fault_api, CASE_INFORMATION, tier_input(there[1], "B"), token=token
            )
            # Refused without saying whether the prisoner exists elsewhere.
            assert refused["__typename"] in {"NotAllowedError", "NotFoundError"}, (move, refused)
            assert await table_counts(db) == before, "a refused mutation wrote something"
            allowed = await _send(
                fault_api, CASE_INFORMATION, tier_input(here[1], "C"), token=token
            )
            assert allowed["__typename"] == "CaseInformation", (move, allowed)

    # NOMIS user roles cannot answer: the mutation is refused, nothing is written.
    box.data.set_user(user, caseloads=[PRISON])
    box.set_fault("nomis-user-roles", Fault(status=503))
    before = await table_counts(db)
    unavailable = await _send(fault_api, CASE_INFORMATION, tier_input(at_mdi, "D"), token=old_token)
    assert unavailable["__typename"] == "ServiceUnavailableError", unavailable
    assert unavailable["upstream"] == "nomis-user-roles", unavailable
    assert await table_counts(db) == before
