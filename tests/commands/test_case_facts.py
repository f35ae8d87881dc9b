"""Responsibility overrides and parole reviews through the API: typed refusals, versions,
idempotency keys, one case_event each and the stored handover moved in the same
transaction; a release clears the released sentence's facts."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from allocation_api.commands import case_fact_change, release_cleanup
from allocation_api.commands.actor import SYSTEM_USER
from allocation_api.commands.handover import recalculate_handover
from allocation_api.commands.reconcile import reconcile
from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.store.handovers import handovers_by_offender_nos
from tests.conftest import RunningApi
from tests.e2e.api.helpers import allocate, fresh_prisoner, ready_prisoner_and_pom, set_tier

TIMEOUT_S = 60

SET = """mutation($input: SetResponsibilityOverrideInput!) { setResponsibilityOverride(input: $input) {
  __typename
  ... on ResponsibilityOverride { offenderNo responsibility reason reasonText version createdBy }
  ... on Error { code message }
  ... on ValidationError { field }
  ... on ConflictError { currentVersion } } }"""

REMOVE = """mutation($input: RemoveResponsibilityOverrideInput!) {
  removeResponsibilityOverride(input: $input) {
  __typename
  ... on ResponsibilityOverrideRemoved { offenderNo removed { responsibility reason version } }
  ... on Error { code message }
  ... on ConflictError { currentVersion } } }"""

RECORD = """mutation($input: RecordParoleReviewInput!) { recordParoleReview(input: $input) {
  __typename
  ... on ParoleReview { id sentenceStartDate targetHearingDate custodyReportDue hearingOutcome
                        outcomeReceivedDate completed release version createdBy }
  ... on Error { code message }
  ... on ValidationError { field }
  ... on ConflictError { currentVersion } } }"""

UPDATE = RECORD.replace("recordParoleReview", "updateParoleReview").replace(
    "RecordParoleReviewInput", "UpdateParoleReviewInput"
)

PRISONER = """query($no: String!) { prisoner(offenderNo: $no) {
  responsibility
  responsibilityOverride { responsibility reason reasonText version }
  paroleReviews { id targetHearingDate hearingOutcome completed release version }
  caseInformation { tier }
  handover { reason stored { reason } }
  allocation { primaryPomStaffId history { event trigger } } } }"""

# An ISP whose tariff date is far ahead: handover = tariff - 12 months (INDETERMINATE)
# unless a THD more than 12 months ahead with a completed, not-released review applies.
ISP: dict[str, Any] = {
    "dateOfBirth": "1980-01-01",
    "legalStatus": "INDETERMINATE_SENTENCE",
    "imprisonmentStatus": "LIFE",
    "indeterminateSentence": True,
    "recall": False,
    "sentenceStartDate": "2020-01-01",
    "tariffDate": "2040-01-01",
    "paroleEligibilityDate": None,
    "conditionalReleaseDate": None,
    "automaticReleaseDate": None,
    "releaseDate": None,
}


async def gql(api: RunningApi, document: str, variables: dict[str, Any], **kw: Any) -> Any:
    body = await asyncio.wait_for(api.gql(document, variables, **kw), TIMEOUT_S)
    assert "errors" not in body, body
    return body["data"]


async def mutate(api: RunningApi, document: str, **input: Any) -> dict[str, Any]:
    data = await gql(api, document, {"input": input})
    return next(iter(data.values()))  # type: ignore[no-any-return]


async def case_events(api: RunningApi, no: str) -> list[tuple[str, str, dict[str, Any]]]:
    rows = await api.app.state.services.reads.fetch(
        "SELECT kind, source, detail FROM case_event WHERE offender_no = $1 ORDER BY id", no
    )
    return [
        (r[0], r[1], orjson.loads(r[2]) if isinstance(r[2], str | bytes) else r[2]) for r in rows
    ]


async def stored_reason(api: RunningApi, no: str) -> str | None:
    row = (await handovers_by_offender_nos(api.app.state.services.reads, [no])).get(no)
    return None if row is None else row.reason


async def test_override_set_replace_remove(api: RunningApi) -> None:
    no = await fresh_prisoner(api, "MDI")
    await set_tier(api, no, "C")
    assert await stored_reason(api, no) != "OVERRIDE"

    refused = await mutate(api, SET, offenderNo=no, responsibility="PROBATION", reason="OTHER")
    assert (refused["__typename"], refused["code"], refused["field"]) == (
        "ValidationError",
        "REASON_TEXT_REQUIRED",
        "reasonText",
    )
    refused = await mutate(
        api,
        SET,
        offenderNo=no,
        responsibility="PROBATION",
        reason="PRISONER_RECALLED",
        reasonText="why",
    )
    assert refused["code"] == "REASON_TEXT_NOT_NEEDED"
    refused = await mutate(
        api, SET, offenderNo=no, responsibility="PROBATION", reason="OTHER", reasonText="x" * 501
    )
    assert refused["code"] == "TOO_LONG"
    assert not [e for e in await case_events(api, no) if e[0].startswith("OVERRIDE")]

    made = await mutate(
        api, SET, offenderNo=no, responsibility="PROBATION", reason="OTHER", reasonText="x" * 500
    )
    assert made["__typename"] == "ResponsibilityOverride", made
    assert (made["responsibility"], made["reason"], made["version"]) == ("PROBATION", "OTHER", 1)
    prisoner = (await gql(api, PRISONER, {"no": no}))["prisoner"]
    assert prisoner["responsibility"] == "COMMUNITY"
    assert prisoner["handover"]["reason"] == "OVERRIDE"
    assert prisoner["responsibilityOverride"]["version"] == 1
    assert await stored_reason(api, no) == "OVERRIDE"

    again = await mutate(
        api,
        SET,
        offenderNo=no,
        responsibility="PRISON",
        reason="MOVED_TO_OPEN_PRISON",
        expectedVersion=0,
    )
    assert (again["__typename"], again["code"], again["currentVersion"]) == (
        "ConflictError",
        "STALE_VERSION",
        1,
    )
    replaced = await mutate(
        api,
        SET,
        offenderNo=no,
        responsibility="PRISON",
        reason="MOVED_TO_OPEN_PRISON",
        expectedVersion=1,
    )
    assert (replaced["responsibility"], replaced["reasonText"], replaced["version"]) == (
        "PRISON",
        None,
        2,
    )
    assert (await gql(api, PRISONER, {"no": no}))["prisoner"]["responsibility"] == (
        "CUSTODY_WITH_COM"
    )

    stale = await mutate(api, REMOVE, offenderNo=no, expectedVersion=1)
    assert (stale["__typename"], stale["currentVersion"]) == ("ConflictError", 2)
    removed = await mutate(api, REMOVE, offenderNo=no, expectedVersion=2)
    assert removed == {
        "__typename": "ResponsibilityOverrideRemoved",
        "offenderNo": no,
        "removed": {"responsibility": "PRISON", "reason": "MOVED_TO_OPEN_PRISON", "version": 2},
    }
    assert await stored_reason(api, no) != "OVERRIDE"
    prisoner = (await gql(api, PRISONER, {"no": no}))["prisoner"]
    assert prisoner["responsibilityOverride"] is None
    assert prisoner["handover"]["reason"] != "OVERRIDE"
    gone = await mutate(api, REMOVE, offenderNo=no)
    assert (gone["__typename"], gone["code"]) == ("NotFoundError", "OVERRIDE_NOT_FOUND")

    events = [e for e in await case_events(api, no) if e[0].startswith("OVERRIDE")]
    assert events == [
        (
            "OVERRIDE_SET",
            "USER",
            {
                "responsibility": "PROBATION",
                "reason": "OTHER",
                "reasonText": "x" * 500,
                "version": 1,
            },
        ),
        (
            "OVERRIDE_SET",
            "USER",
            {
                "responsibility": "PRISON",
                "reason": "MOVED_TO_OPEN_PRISON",
                "reasonText": None,
                "version": 2,
            },
        ),
        (
            "OVERRIDE_REMOVED",
            "USER",
            {
                "responsibility": "PRISON",
                "reason": "MOVED_TO_OPEN_PRISON",
                "reasonText": None,
                "version": 2,
            },
        ),
    ]


async def test_override_idempotency_key_and_caseloads(api: RunningApi) -> None:
    no = await fresh_prisoner(api, "MDI")
    values = {
        "offenderNo": no,
        "responsibility": "PROBATION",
        "reason": "PRISONER_RECALLED",
        "idempotencyKey": f"override-{no}",
    }
    first = await mutate(api, SET, **values)
    second = await mutate(api, SET, **values)
    assert first == second
    assert first["version"] == 1
    assert [e[0] for e in await case_events(api, no)] == ["OVERRIDE_SET"]
    reused = await mutate(api, SET, **{**values, "reason": "MOVED_TO_OPEN_PRISON"})
    assert (reused["__typename"], reused["code"]) == ("ConflictError", "IDEMPOTENCY_KEY_REUSED")

    elsewhere = await api.token("SPO_BXI", caseloads=("BXI",))
    body = await api.gql(
        SET,
        {"input": {"offenderNo": no, "responsibility": "PRISON", "reason": "PRISONER_RECALLED"}},
        token=elsewhere,
    )
    refused = body["data"]["setResponsibilityOverride"]
    assert (refused["__typename"], refused["code"]) == ("NotAllowedError", "FORBIDDEN_PRISON")
    assert [e[0] for e in await case_events(api, no)] == ["OVERRIDE_SET"]


async def test_parole_reviews_drive_the_stored_handover(api: RunningApi) -> None:
    no = await fresh_prisoner(api, "MDI")
    api.sandbox.data.update_prisoner(no, **ISP)
    await set_tier(api, no, "C", mappaLevel=2)
    assert await stored_reason(api, no) == "INDETERMINATE"

    refused = await mutate(api, RECORD, offenderNo=no, hearingOutcome="No Release")
    assert (refused["code"], refused["field"]) == (
        "PAROLE_REVIEW_DATE_REQUIRED",
        "targetHearingDate",
    )
    refused = await mutate(
        api, RECORD, offenderNo=no, targetHearingDate="2021-01-01", outcomeReceivedDate="2999-01-01"
    )
    assert (refused["code"], refused["field"]) == ("DATE_IN_FUTURE", "outcomeReceivedDate")
    refused = await mutate(
        api, RECORD, offenderNo=no, targetHearingDate="2021-01-01", hearingOutcome="x" * 201
    )
    assert refused["code"] == "TOO_LONG"

    done = await mutate(
        api,
        RECORD,
        offenderNo=no,
        targetHearingDate="2022-05-01",
        hearingOutcome="No Release",
        idempotencyKey=f"review-{no}",
    )
    assert done["__typename"] == "ParoleReview", done
    assert (done["sentenceStartDate"], done["completed"], done["release"]) == (
        "2020-01-01",
        True,
        False,
    )
    replayed = await mutate(
        api,
        RECORD,
        offenderNo=no,
        targetHearingDate="2022-05-01",
        hearingOutcome="No Release",
        idempotencyKey=f"review-{no}",
    )
    assert replayed == done
    # A completed review that is no release, but no THD over 12 months yet.
    assert await stored_reason(api, no) == "INDETERMINATE"

    upcoming = await mutate(api, RECORD, offenderNo=no, custodyReportDue="2099-01-01")
    assert (upcoming["completed"], upcoming["version"]) == (False, 1)
    # The custody-report-due date stands in for the THD: more than 12 months ahead.
    assert await stored_reason(api, no) == "ISP_THD_OVER_12_MONTHS_MAPPA_2_3"

    stale = await mutate(
        api,
        UPDATE,
        offenderNo=no,
        paroleReviewId=done["id"],
        targetHearingDate="2022-05-01",
        hearingOutcome="Release",
        expectedVersion=2,
    )
    assert (stale["__typename"], stale["currentVersion"]) == ("ConflictError", 1)
    updated = await mutate(
        api,
        UPDATE,
        offenderNo=no,
        paroleReviewId=done["id"],
        targetHearingDate="2022-05-01",
        hearingOutcome="Release",
        outcomeReceivedDate="2022-05-10",
        expectedVersion=1,
    )
    assert (updated["release"], updated["version"], updated["outcomeReceivedDate"]) == (
        True,
        2,
        "2022-05-10",
    )
    # The latest completed review is now a release: back to the tariff rule.
    assert await stored_reason(api, no) == "INDETERMINATE"
    missing = await mutate(
        api, UPDATE, offenderNo=no, paroleReviewId=10**9, targetHearingDate="2022-05-01"
    )
    assert (missing["__typename"], missing["code"]) == ("NotFoundError", "PAROLE_REVIEW_NOT_FOUND")

    reviews = (await gql(api, PRISONER, {"no": no}))["prisoner"]["paroleReviews"]
    assert [(r["id"], r["completed"], r["release"], r["version"]) for r in reviews] == [
        (done["id"], True, True, 2),
        (upcoming["id"], False, False, 1),
    ]
    kinds = [e[0] for e in await case_events(api, no) if e[0].startswith("PAROLE")]
    assert kinds == ["PAROLE_REVIEW_RECORDED", "PAROLE_REVIEW_RECORDED", "PAROLE_REVIEW_UPDATED"]
    recorded = next(e for e in await case_events(api, no) if e[0] == "PAROLE_REVIEW_UPDATED")
    assert recorded[2] == {
        "paroleReviewId": done["id"],
        "sentenceStartDate": "2020-01-01",
        "targetHearingDate": "2022-05-01",
        "custodyReportDue": None,
        "hearingOutcome": "Release",
        "outcomeReceivedDate": "2022-05-10",
        "version": 2,
    }


async def test_a_failed_recalculation_writes_no_review(
    api: RunningApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    no = await fresh_prisoner(api, "MDI")

    async def recalculate_then_fail(*args: Any, **kwargs: Any) -> Any:
        await recalculate_handover(*args, **kwargs)
        raise RuntimeError("fails after the handover was written")

    # Every case-fact command recalculates through `case_fact_change`.
    monkeypatch.setattr(case_fact_change, "recalculate_handover", recalculate_then_fail)
    body = await api.gql(RECORD, {"input": {"offenderNo": no, "targetHearingDate": "2030-01-01"}})
    assert body.get("errors"), body
    assert (await gql(api, PRISONER, {"no": no}))["prisoner"]["paroleReviews"] == []
    assert await case_events(api, no) == []
    assert await stored_reason(api, no) is None


async def _released_with_everything(api: RunningApi) -> tuple[str, int]:
    no, pom = await ready_prisoner_and_pom(api, "MDI")
    assert (await allocate(api, no, pom["staffId"]))["__typename"] == "Allocation"
    made = await mutate(
        api, SET, offenderNo=no, responsibility="PROBATION", reason="PRISONER_RECALLED"
    )
    assert made["__typename"] == "ResponsibilityOverride"
    review = await mutate(api, RECORD, offenderNo=no, targetHearingDate="2030-01-01")
    assert review["__typename"] == "ParoleReview"
    assert await stored_reason(api, no) == "OVERRIDE"
    api.sandbox.data.update_prisoner(no, prisonId="OUT")
    return no, pom["staffId"]


async def test_release_clears_the_sentence_and_a_returning_prisoner_starts_clean(
    api: RunningApi,
) -> None:
    no, staff_id = await _released_with_everything(api)
    services = api.app.state.services
    report = await reconcile(UnitOfWork(services.sessions), services.upstreams)
    assert report.changes["DEALLOCATE_RELEASED_OFFENDER/OFFENDER_RELEASED"] >= 1

    cleared = [e for e in await case_events(api, no) if e[0] == "RELEASED_SENTENCE_CLEARED"]
    assert cleared == [
        (
            "RELEASED_SENTENCE_CLEARED",
            "SYSTEM",
            {
                "removed": {
                    "caseInformation": 1,
                    "calculatedHandover": 1,
                    "responsibilityOverride": 1,
                }
            },
        )
    ]
    rows = await services.reads.fetch(
        "SELECT created_by_username, prison_code FROM case_event"
        " WHERE offender_no = $1 AND kind = 'RELEASED_SENTENCE_CLEARED'",
        no,
    )
    assert [tuple(r) for r in rows] == [(SYSTEM_USER, "MDI")]
    assert await stored_reason(api, no) is None

    # Back in custody on a new sentence: nothing of the old one applies.
    api.sandbox.data.update_prisoner(no, prisonId="MDI", sentenceStartDate="2031-01-01")
    prisoner = (await gql(api, PRISONER, {"no": no}))["prisoner"]
    assert prisoner["caseInformation"] is None
    assert prisoner["responsibilityOverride"] is None
    assert prisoner["handover"]["reason"] != "OVERRIDE"
    assert prisoner["handover"]["stored"] is None
    # The Parole Board's record and the allocation history are kept.
    assert len(prisoner["paroleReviews"]) == 1
    allocation = prisoner["allocation"]
    assert allocation["primaryPomStaffId"] is None
    assert [e["event"] for e in allocation["history"]] == [
        "ALLOCATE_PRIMARY_POM",
        "DEALLOCATE_RELEASED_OFFENDER",
    ]
    assert staff_id

    again = await reconcile(UnitOfWork(services.sessions), services.upstreams)
    assert not again.changes.get("DEALLOCATE_RELEASED_OFFENDER/OFFENDER_RELEASED")
    assert len([e for e in await case_events(api, no) if e[0] == "RELEASED_SENTENCE_CLEARED"]) == 1


async def test_release_clean_up_is_one_transaction_with_the_deallocation(
    api: RunningApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    no, staff_id = await _released_with_everything(api)
    services = api.app.state.services

    async def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the clean-up's event cannot be written")

    monkeypatch.setattr(release_cleanup, "append_case_event", fail)
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(
            reconcile(UnitOfWork(services.sessions), services.upstreams), TIMEOUT_S
        )
    reader = await api.token(None, roles=("ROLE_VIEW_POM_ALLOCATIONS",))
    prisoner = (await gql(api, PRISONER, {"no": no}, token=reader))["prisoner"]
    assert prisoner["allocation"]["primaryPomStaffId"] == staff_id
    assert prisoner["caseInformation"] == {"tier": "C"}
    assert prisoner["responsibilityOverride"] is not None
    assert await stored_reason(api, no) == "OVERRIDE"
