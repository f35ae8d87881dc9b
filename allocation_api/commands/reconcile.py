"""Automatic deallocations when NOMIS says a prisoner's situation changed.

docs/DOMAIN.md, "Allocating": release clears both POMs
(DEALLOCATE_RELEASED_OFFENDER / OFFENDER_RELEASED); a transfer to another
prison deallocates the primary POM (DEALLOCATE_PRIMARY_POM /
OFFENDER_TRANSFERRED) unless the case is already allocated at the new prison
(the allocation row is at that prison); a legal status leaving SENTENCED,
INDETERMINATE_SENTENCE, RECALL, IMMIGRATION_DETAINEE (or becoming UNKNOWN)
deallocates both POMs (LEGAL_STATUS_CHANGED).

`reconcile` compares every allocation that still has a POM with the
prisoner's current NOMIS record (one batched read per 1000 prisoners) and
applies these rules, each change in its own transaction with the row locked,
its version bumped and its history event appended, exactly like a user's
change. It is idempotent: a second run finds nothing to do. It is run by
`allocation-api reconcile` (e.g. from a Kubernetes CronJob every few
minutes); the real service reacts to domain events instead, which is a
transport detail on top of the same rules.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.commands.actor import SYSTEM_USER
from allocation_api.commands.deallocate import deallocate_locked
from allocation_api.commands.handover import recalculate_handover, remove_handover
from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.resolvers.context import today_in_london
from allocation_api.rules.eligibility import IN_SCOPE_LEGAL_STATUSES
from allocation_api.store import repositories as repo
from allocation_api.store.enums import AllocationEventType as Ev
from allocation_api.store.enums import AllocationTrigger as Trigger
from allocation_api.store.tables import Allocation
from allocation_api.upstream import Upstreams
from allocation_api.upstream.models import Prisoner

log = logging.getLogger(__name__)

__all__ = ["SYSTEM_USER", "Change", "ReconcileReport", "change_for", "reconcile"]

RELEASED = "OUT"
"""prisonId prisoner search gives a released prisoner."""
IN_TRANSIT = "TRN"
"""prisonId while moving between prisons: wait for the arrival."""


@dataclass(frozen=True, slots=True)
class Change:
    event: Ev
    trigger: Trigger
    clear_primary: bool
    clear_secondary: bool


@dataclass(slots=True)
class ReconcileReport:
    checked: int = 0
    changes: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {"checked": self.checked, "changes": dict(self.changes)}


def change_for(row: Allocation, prisoner: Prisoner | None) -> Change | None:
    """The automatic change a prisoner's current NOMIS record calls for, if any."""
    if row.primary_pom_staff_id is None and row.secondary_pom_staff_id is None:
        return None
    if prisoner is None or prisoner.prisonId == IN_TRANSIT:
        # Absent from a batch read proves nothing (a lagging index must never
        # deallocate anyone); in transit, the new prison is not known yet.
        return None
    if prisoner.prisonId == RELEASED:
        return Change(Ev.DEALLOCATE_RELEASED_OFFENDER, Trigger.OFFENDER_RELEASED, True, True)
    if prisoner.legalStatus not in IN_SCOPE_LEGAL_STATUSES:
        primary = row.primary_pom_staff_id is not None
        return Change(
            Ev.DEALLOCATE_PRIMARY_POM if primary else Ev.DEALLOCATE_SECONDARY_POM,
            Trigger.LEGAL_STATUS_CHANGED,
            True,
            True,
        )
    if prisoner.prisonId != row.prison_code and row.primary_pom_staff_id is not None:
        return Change(Ev.DEALLOCATE_PRIMARY_POM, Trigger.OFFENDER_TRANSFERRED, True, False)
    return None


async def _refresh_handover(
    session: AsyncSession, change: Change, prisoner: Prisoner | None
) -> None:
    """A release deletes the stored handover; a transfer or legal status change
    recalculates it from the record that caused it (`commands/handover.py`)."""
    if prisoner is None:
        return
    if change.trigger == Trigger.OFFENDER_RELEASED:
        await remove_handover(session, prisoner.prisonerNumber)
    else:
        await recalculate_handover(session, prisoner, today_in_london())


async def _apply(uow: UnitOfWork, offender_no: str, prisoner: Prisoner | None) -> Change | None:
    """Re-check under the row lock (a user may have changed it meanwhile), then write."""
    async with uow.transaction() as session:
        locked = await repo.lock_existing_allocation(session, offender_no)
        if locked is None:
            return None
        change = change_for(locked, prisoner)
        if change is None:
            return None
        await deallocate_locked(
            session,
            locked,
            primary=change.clear_primary,
            secondary=change.clear_secondary,
            event=change.event,
            trigger=change.trigger,
            username=SYSTEM_USER,
            name=None,
        )
        await _refresh_handover(session, change, prisoner)
    uow.allocations_changed.add(offender_no)
    return change


async def reconcile(uow: UnitOfWork, upstreams: Upstreams, *, batch: int = 1000) -> ReconcileReport:
    """Apply release / transfer / legal-status rules to every allocation with a POM."""
    report = ReconcileReport()
    async with uow.reading() as session:
        rows = await repo.allocations_with_a_pom(session)
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        found = await upstreams.prisoner_search.prisoners_by_numbers(
            [row.offender_no for row in chunk]
        )
        by_number = {p.prisonerNumber: p for p in found}
        for row in chunk:
            report.checked += 1
            prisoner = by_number.get(row.offender_no)
            if prisoner is None:
                report.changes["NOT_IN_NOMIS"] += 1
                log.warning(
                    "reconcile %s: not found in prisoner search, left alone", row.offender_no
                )
                continue
            if change_for(row, prisoner) is None:
                continue
            applied = await _apply(uow, row.offender_no, prisoner)
            if applied is not None:
                report.changes[f"{applied.event.value}/{applied.trigger.value}"] += 1
                log.info("reconcile %s: %s (%s)", row.offender_no, applied.event, applied.trigger)
    return report
