"""recordParoleReview / updateParoleReview: the Parole Board's record of a review.

Only the raw fields are stored (THD, custody report due date, hearing
outcome, outcome received date); the rules derive which review gives the
THD, whether it is completed and whether its outcome is a release
(`rules/parole.py`). A new review belongs to the prisoner's current
sentence: its sentence start is read from the live NOMIS record. The THD and
outcome are handover inputs, so each write recalculates the stored handover
in its transaction, after appending its `case_event`
(PAROLE_REVIEW_RECORDED / PAROLE_REVIEW_UPDATED, source USER).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from allocation_api.commands import checks, replay
from allocation_api.commands.actor import Actor
from allocation_api.commands.case_fact_change import begin_case_fact_change
from allocation_api.commands.replay import Replay
from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.errors import NotFound, ValidationFailed
from allocation_api.resolvers.context import RequestContext
from allocation_api.store import case_facts
from allocation_api.store.enums import CaseEventKind
from allocation_api.store.tables import ParoleReview
from allocation_api.upstream import Upstreams


@dataclass(frozen=True, slots=True)
class ParoleReviewFields:
    """The raw fields of a review; `schema/parse.py` has checked each alone."""

    target_hearing_date: dt.date | None = None
    custody_report_due: dt.date | None = None
    hearing_outcome: str | None = None
    outcome_received_date: dt.date | None = None

    def columns(self) -> dict[str, Any]:
        return {
            "target_hearing_date": self.target_hearing_date,
            "custody_report_due": self.custody_report_due,
            "hearing_outcome": self.hearing_outcome,
            "outcome_received_date": self.outcome_received_date,
        }

    def as_json(self) -> dict[str, Any]:
        def day(value: dt.date | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "targetHearingDate": day(self.target_hearing_date),
            "custodyReportDue": day(self.custody_report_due),
            "hearingOutcome": self.hearing_outcome,
            "outcomeReceivedDate": day(self.outcome_received_date),
        }


@dataclass(frozen=True, slots=True)
class RecordParoleReview:
    offender_no: str
    fields: ParoleReviewFields
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateParoleReview:
    offender_no: str
    review_id: int
    fields: ParoleReviewFields
    """Replaces all four fields (a field left out becomes empty)."""
    expected_version: int | None = None
    idempotency_key: str | None = None


def check_fields(fields: ParoleReviewFields, today: dt.date) -> None:
    """The checks that need today: an outcome cannot have been received in the future."""
    received = fields.outcome_received_date
    if received is not None and received > today:
        raise ValidationFailed(
            "outcomeReceivedDate must not be in the future",
            code="DATE_IN_FUTURE",
            field="outcomeReceivedDate",
        )


def _detail(row: ParoleReview) -> dict[str, Any]:
    """A review as a case event's detail (camelCase, as the API shows it)."""
    fields = ParoleReviewFields(
        row.target_hearing_date,
        row.custody_report_due,
        row.hearing_outcome,
        row.outcome_received_date,
    )
    start = row.sentence_start_date
    return {
        "paroleReviewId": row.id,
        "sentenceStartDate": None if start is None else start.isoformat(),
        **fields.as_json(),
        "version": row.version,
    }


async def record_parole_review(
    command: RecordParoleReview,
    uow: UnitOfWork,
    upstreams: Upstreams,
    actor: Actor,
    reads: RequestContext,
) -> ParoleReview:
    """Add a review to the prisoner's current sentence; returns the stored row."""
    offender_no = command.offender_no
    check_fields(command.fields, reads.today)
    change = await begin_case_fact_change(reads, upstreams, actor, offender_no)
    again = Replay(
        "recordParoleReview",
        command.idempotency_key,
        checks.fingerprint(
            "recordParoleReview", {"offenderNo": offender_no, **command.fields.as_json()}
        ),
    )
    async with uow.transaction() as session:
        seen = await replay.claim(session, uow, actor, again)
        if seen is not None:
            return ParoleReview.model_validate(seen)
        saved = await case_facts.insert_parole_review(
            session,
            {
                "offender_no": offender_no,
                "sentence_start_date": change.prisoner.sentenceStartDate,
                **command.fields.columns(),
                "created_by_username": actor.username,
                "updated_by_username": actor.username,
            },
        )
        await change.recorded(session, CaseEventKind.PAROLE_REVIEW_RECORDED, _detail(saved))
        await replay.remember(session, again, replay.snapshot(saved))
    uow.owned_changed.add(offender_no)
    return saved


async def update_parole_review(
    command: UpdateParoleReview,
    uow: UnitOfWork,
    upstreams: Upstreams,
    actor: Actor,
    reads: RequestContext,
) -> ParoleReview:
    """Replace a review's fields (it stays with the sentence it was recorded for)."""
    offender_no = command.offender_no
    check_fields(command.fields, reads.today)
    # Access first: a caller outside the prison learns nothing about its reviews.
    change = await begin_case_fact_change(reads, upstreams, actor, offender_no)
    again = Replay(
        "updateParoleReview",
        command.idempotency_key,
        checks.fingerprint(
            "updateParoleReview",
            {
                "offenderNo": offender_no,
                "reviewId": command.review_id,
                "expectedVersion": command.expected_version,
                **command.fields.as_json(),
            },
        ),
    )
    async with uow.transaction() as session:
        seen = await replay.claim(session, uow, actor, again)
        if seen is not None:
            return ParoleReview.model_validate(seen)
        row = await case_facts.lock_parole_review(session, command.review_id, offender_no)
        if row is None:
            raise NotFound(
                f"{offender_no} has no parole review {command.review_id}",
                code="PAROLE_REVIEW_NOT_FOUND",
            )
        case_facts.check_version(row.version, command.expected_version)
        saved = await case_facts.update_parole_review(
            session,
            row,
            {**command.fields.columns(), "updated_by_username": actor.username},
        )
        await change.recorded(session, CaseEventKind.PAROLE_REVIEW_UPDATED, _detail(saved))
        await replay.remember(session, again, replay.snapshot(saved))
    uow.owned_changed.add(offender_no)
    return saved
