"""On release, the released sentence's owned facts go: a returning prisoner starts clean.

DOMAIN.md: "On release, the real service deletes that sentence's case
information, stored handover dates, handover checklist, responsibility
override and early-allocation status". `RELEASE_CLEARS` is that list, as the
tables that hold those facts here, deleted in this order inside the
release's own transaction (`reconcile.py`, the movement handling), followed
by one `case_event` RELEASED_SENTENCE_CLEARED (source SYSTEM) whose detail
counts what each table lost. A table added later (the handover checklist,
a stored early allocation status) is one more line in the list.

Kept on purpose: the allocation and its history (the record of who held
the case), the case event log, and parole reviews and early allocation
assessments, which are the Parole Board's and the assessors' records: the
rules only count those dated on or after the current sentence start
(`rules/parole.py`, `rules/early_allocation.py`), so a new sentence does
not see the old ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.commands.actor import SYSTEM_USER
from allocation_api.store import case_facts
from allocation_api.store.enums import CaseEventKind, FactSource
from allocation_api.store.handovers import lock_handover_key
from allocation_api.store.tables import CaseEvent
from allocation_api.store.writes import append_case_event


@dataclass(frozen=True, slots=True)
class Cleared:
    """One table the release clears: its name and the key its count has in the event."""

    table: str
    label: str


RELEASE_CLEARS: Final[tuple[Cleared, ...]] = (
    Cleared("case_information", "caseInformation"),
    Cleared("calculated_handover", "calculatedHandover"),
    Cleared("responsibility_override", "responsibilityOverride"),
)
"""What a release deletes, in order (table names are fixed here, never input)."""


async def clear_released_sentence(
    session: AsyncSession, offender_no: str, prison_code: str | None
) -> dict[str, int]:
    """Delete the released sentence's facts in the caller's transaction and append the
    RELEASED_SENTENCE_CLEARED event; rows removed per label (0 when none).

    Takes the prisoner's handover lock first, so a concurrent recalculation
    cannot write the stored handover back after it is deleted. One statement
    per table, one for the event.
    """
    await lock_handover_key(session, offender_no)
    removed = {
        item.label: await case_facts.delete_rows_of(session, item.table, offender_no)
        for item in RELEASE_CLEARS
    }
    await append_case_event(
        session,
        CaseEvent(
            offender_no=offender_no,
            kind=CaseEventKind.RELEASED_SENTENCE_CLEARED,
            source=FactSource.SYSTEM,
            prison_code=prison_code,
            detail={"removed": removed},
            created_by_username=SYSTEM_USER,
        ),
    )
    return removed
