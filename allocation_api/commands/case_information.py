"""updateCaseInformation: record a prisoner's tier, probation service, MAPPA level and COM."""

from __future__ import annotations

from dataclasses import dataclass

from allocation_api.commands import checks
from allocation_api.commands.actor import Actor
from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.resolvers.context import RequestContext
from allocation_api.store import repositories as repo
from allocation_api.store.enums import ProbationService, Tier
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
    prisoner = await checks.fresh_prisoner(reads, upstreams, offender_no)
    await actor.require_prison(prisoner.prisonId)
    async with uow.transaction() as session:
        existing = await repo.lock_case_information(session, offender_no)
        checks.check_version(0 if existing is None else existing.version, command.expected_version)
        row = existing or CaseInformation(offender_no=offender_no)
        row.tier = command.tier
        row.probation_service = command.probation_service
        row.mappa_level = command.mappa_level
        row.crn = command.crn
        row.com_name = command.com_name
        row.com_email = command.com_email
        row.team_name = command.team_name
        row.ldu_code = command.ldu_code
        row.manual_entry = command.manual_entry
        row.updated_by_username = actor.username
        saved = await repo.upsert_case_information(session, row)
    uow.case_information_changed.add(offender_no)
    return saved
