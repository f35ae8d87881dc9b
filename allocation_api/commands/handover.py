"""Keep the stored handover (`calculated_handover`) equal to the rules' answer.

The stored row is what other services read (`GET /api/handovers`) and what
"the handover changed" is detected against, so it is recalculated inside the
transaction of every owned change that can move it, with the fresh NOMIS
record the command has just read, by the same rule code the graph runs
(`rules/handover.py` on `resolvers/owned_facts.facts_from`, exactly the
inputs of `resolvers/prisoners.handover_result`):

- `updateCaseInformation` (`case_information.py`): MAPPA level and the Welsh
  probation service are handover inputs.
- `allocatePrimaryPom` / `allocateSecondaryPom` (`allocate.py`): the
  allocation is not an input, but the command holds a fresh NOMIS record
  (sentence dates, recall, legal status may have moved), and every allocated
  case then has a stored row for the services that read it.
- `reconcile` (`reconcile.py`): a transfer or a legal status change
  recalculates from the record that caused it; a release deletes the row (a
  returning prisoner starts clean, as in the real service).
- Not hooked: `deallocate*` (no handover input changes, and it deliberately
  works while NOMIS is down, so it has no fresh record) and
  `updatePomDetails` (a POM's working pattern or status is not a handover
  input; the POM named by `/api/handovers` is read from the allocation row
  at request time, not stored).
- Responsibility overrides, parole reviews and early allocation assessments
  are inputs too: the commands that write them call `recalculate_handover`
  inside their transaction, after their write, like the ones above.

When the start date or the handover date moves (not the responsibility or
the reason alone), the same transaction adds `offender-management.handover.changed`
to the outbox (`events/outbox.py`), so every path above publishes it.

`allocation-api recalculate-handovers` (`recalculate_handovers.py`) runs the
same function for whole prisons, for the changes no command sees (time
passing, sentence dates changing in NOMIS).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.events import outbox
from allocation_api.resolvers.owned_facts import facts_from
from allocation_api.rules import handover as handover_rules
from allocation_api.rules.handover import Handover
from allocation_api.store import handovers as store
from allocation_api.store.owned_records import owned_records_by_offender_nos
from allocation_api.store.views import CalculatedHandoverView
from allocation_api.upstream.models import Prisoner

__all__ = ["HandoverRecalculation", "recalculate_handover", "remove_handover"]


@dataclass(frozen=True, slots=True)
class HandoverRecalculation:
    """What one recalculation did."""

    result: Handover
    """The rules' answer."""
    previous: CalculatedHandoverView | None
    """The stored row before (None when there was none)."""
    written: bool
    """True when the row was inserted or its values changed (nothing is written otherwise)."""

    @property
    def dates_changed(self) -> bool:
        """The start date or the handover date moved (a new row counts): what the
        `handover.changed` event is published for."""
        return self.previous is None or (
            self.previous.start_date != self.result.start_date
            or self.previous.handover_date != self.result.handover_date
        )


def _same(row: CalculatedHandoverView, result: Handover) -> bool:
    return (
        row.start_date == result.start_date
        and row.handover_date == result.handover_date
        and row.responsibility == result.responsibility
        and row.reason == result.reason.value
    )


async def recalculate_handover(
    session: AsyncSession, prisoner: Prisoner, today: dt.date
) -> HandoverRecalculation:
    """Recalculate one prisoner's handover in the caller's transaction; write on change.

    Call it after the command's own writes (so the owned facts read here
    include them) with the prisoner's fresh NOMIS record. It takes the
    prisoner's handover lock until the transaction ends, so concurrent
    recalculations of one prisoner run one after the other; if the
    transaction rolls back, so does the stored row.
    """
    offender_no = prisoner.prisonerNumber
    await store.lock_handover_key(session, offender_no)
    await session.flush()
    reader = store.SessionReader(session)
    owned = (await owned_records_by_offender_nos(reader, [offender_no]))[offender_no]
    result = handover_rules.handover(prisoner, facts_from(owned, prisoner, today), today)
    previous = await store.handover_locked(session, offender_no)
    if previous is not None and _same(previous, result):
        return HandoverRecalculation(result, previous, written=False)
    await store.write_handover(
        session,
        offender_no,
        start_date=result.start_date,
        handover_date=result.handover_date,
        responsibility=result.responsibility.value,
        reason=result.reason.value,
    )
    recalculation = HandoverRecalculation(result, previous, written=True)
    if recalculation.dates_changed:
        await outbox.handover_changed(session, offender_no)
    return recalculation


async def remove_handover(session: AsyncSession, offender_no: str) -> bool:
    """Delete the stored handover (release); True when there was one."""
    await store.lock_handover_key(session, offender_no)
    return await store.delete_handover(session, offender_no)
