"""setResponsibilityOverride / removeResponsibilityOverride: force Prison or Probation.

An override wins over the handover calculation (`rules/handover.handover`),
so each write recalculates the stored handover in its own transaction, after
appending its `case_event` (OVERRIDE_SET / OVERRIDE_REMOVED, source USER,
detail = what was set or removed). The recommended POM type follows from
the handover answer when it is read, so nothing else is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allocation_api.commands import checks, replay
from allocation_api.commands.actor import Actor
from allocation_api.commands.case_fact_change import begin_case_fact_change
from allocation_api.commands.replay import Replay
from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.errors import NotFound
from allocation_api.resolvers.context import RequestContext
from allocation_api.store import case_facts, guards
from allocation_api.store.enums import (
    CaseEventKind,
    OverrideResponsibilityReason,
    ResponsibilityOverride,
)
from allocation_api.store.tables import ResponsibilityOverride as OverrideRow
from allocation_api.upstream import Upstreams


@dataclass(frozen=True, slots=True)
class SetResponsibilityOverride:
    offender_no: str
    responsibility: ResponsibilityOverride
    reason: OverrideResponsibilityReason
    reason_text: str | None = None
    """Only with OTHER, and then required (`schema/parse.override_reason_text`)."""
    expected_version: int | None = None
    """0: create only; n: replace version n only; None: create or replace."""
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class RemoveResponsibilityOverride:
    offender_no: str
    expected_version: int | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class RemovedOverride:
    """What `removeResponsibilityOverride` took away."""

    offender_no: str
    removed: OverrideRow


def override_detail(row: OverrideRow) -> dict[str, Any]:
    """An override as a case event's detail (camelCase, as the API shows it)."""
    return {
        "responsibility": str(row.responsibility),
        "reason": str(row.reason),
        "reasonText": row.reason_text,
        "version": row.version,
    }


async def set_responsibility_override(
    command: SetResponsibilityOverride,
    uow: UnitOfWork,
    upstreams: Upstreams,
    actor: Actor,
    reads: RequestContext,
) -> OverrideRow:
    """Create or replace the prisoner's override; returns the stored row."""
    offender_no = command.offender_no
    change = await begin_case_fact_change(reads, upstreams, actor, offender_no)
    values: dict[str, Any] = {
        "responsibility": command.responsibility,
        "reason": command.reason,
        "reason_text": command.reason_text,
        "updated_by_username": actor.username,
    }
    again = Replay(
        "setResponsibilityOverride",
        command.idempotency_key,
        checks.fingerprint(
            "setResponsibilityOverride",
            {
                "offenderNo": offender_no,
                "responsibility": str(command.responsibility),
                "reason": str(command.reason),
                "reasonText": command.reason_text,
                "expectedVersion": command.expected_version,
            },
        ),
    )
    async with uow.transaction() as session:
        seen = await replay.claim(session, uow, actor, again)
        if seen is not None:
            return OverrideRow.model_validate(seen)
        saved = await guards.write_versioned(
            session,
            OverrideRow,
            {"offender_no": offender_no},
            create={**values, "created_by_username": actor.username},
            change=values,
            expected_version=command.expected_version,
        )
        await change.recorded(session, CaseEventKind.OVERRIDE_SET, override_detail(saved))
        await replay.remember(session, again, replay.snapshot(saved))
    uow.owned_changed.add(offender_no)
    return saved


async def remove_responsibility_override(
    command: RemoveResponsibilityOverride,
    uow: UnitOfWork,
    upstreams: Upstreams,
    actor: Actor,
    reads: RequestContext,
) -> RemovedOverride:
    """Delete the prisoner's override; the calculated responsibility applies again."""
    offender_no = command.offender_no
    change = await begin_case_fact_change(reads, upstreams, actor, offender_no)
    again = Replay(
        "removeResponsibilityOverride",
        command.idempotency_key,
        checks.fingerprint(
            "removeResponsibilityOverride",
            {"offenderNo": offender_no, "expectedVersion": command.expected_version},
        ),
    )
    async with uow.transaction() as session:
        seen = await replay.claim(session, uow, actor, again)
        if seen is not None:
            return RemovedOverride(offender_no, OverrideRow.model_validate(seen))
        row = await case_facts.lock_override(session, offender_no)
        if row is None:
            raise NotFound(
                f"{offender_no} has no responsibility override", code="OVERRIDE_NOT_FOUND"
            )
        case_facts.check_version(row.version, command.expected_version)
        removed = OverrideRow.model_validate(replay.snapshot(row))
        await case_facts.delete_rows_of(session, "responsibility_override", offender_no)
        await change.recorded(session, CaseEventKind.OVERRIDE_REMOVED, override_detail(removed))
        await replay.remember(session, again, replay.snapshot(removed))
    uow.owned_changed.add(offender_no)
    return RemovedOverride(offender_no, removed)
