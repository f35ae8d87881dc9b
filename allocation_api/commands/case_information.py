"""updateCaseInformation: record a prisoner's tier, probation service, MAPPA level and COM."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allocation_api.commands.actor import Actor
from allocation_api.commands.case_fact_change import begin_case_fact_change
from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.resolvers.context import RequestContext
from allocation_api.store import guards
from allocation_api.store.enums import CaseEventKind, ProbationService, Tier
from allocation_api.store.tables import CaseInformation
from allocation_api.upstream import Upstreams


@dataclass(frozen=True, slots=True)
class UpdateCaseInformation:
    offender_no: str
    tier: Tier | None = None
    probation_service: ProbationService | None = None
    mappa_level: int | None = None
    crn: str | None = None
    com_name: str | None = None
    com_email: str | None = None
    team_name: str | None = None
    ldu_code: str | None = None
    manual_entry: bool = True
    expected_version: int | None = None


async def update_case_information(
    command: UpdateCaseInformation,
    uow: UnitOfWork,
    upstreams: Upstreams,
    actor: Actor,
    reads: RequestContext,
) -> CaseInformation:
    """Replace the prisoner's case information (every field); returns the stored row."""
    offender_no = command.offender_no
    change = await begin_case_fact_change(reads, upstreams, actor, offender_no)
    columns: dict[str, Any] = {
        "tier": command.tier,
        "probation_service": command.probation_service,
        "mappa_level": command.mappa_level,
        "crn": command.crn,
        "com_name": command.com_name,
        "com_email": command.com_email,
        "team_name": command.team_name,
        "ldu_code": command.ldu_code,
        "manual_entry": command.manual_entry,
        "updated_by_username": actor.username,
    }
    async with uow.transaction() as session:
        # expectedVersion 0 creates or is refused; n updates version n or is refused.
        saved = await guards.write_versioned(
            session,
            CaseInformation,
            {"offender_no": offender_no},
            create=columns,
            change=columns,
            expected_version=command.expected_version,
        )
        # MAPPA level and probation service are handover inputs.
        await change.recorded(
            session, CaseEventKind.CASE_INFORMATION_SET, _detail(command, saved.version)
        )
    uow.case_information_changed.add(offender_no)
    return saved


def _detail(command: UpdateCaseInformation, version: int) -> dict[str, Any]:
    """What was set, for the case history (camelCase, as the mutation's input names it)."""
    return {
        "tier": None if command.tier is None else str(command.tier),
        "probationService": (
            None if command.probation_service is None else str(command.probation_service)
        ),
        "mappaLevel": command.mappa_level,
        "crn": command.crn,
        "comName": command.com_name,
        "comEmail": command.com_email,
        "teamName": command.team_name,
        "lduCode": command.ldu_code,
        "manualEntry": command.manual_entry,
        "version": version,
    }
