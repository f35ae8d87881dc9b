"""What every change to an owned case fact does around its own write.

Before the transaction: the prisoner read fresh from NOMIS (with the
caller's access checked on it), the prison the caller must be allowed to
change, and the author's name for the history. Inside it, after the write:
one `case_event` row and the stored handover recalculated, so the history,
the handover and the fact commit or roll back together. The commands for
case information, overrides and parole reviews share this; each keeps only
its own write and the detail it records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.commands import checks
from allocation_api.commands.actor import Actor, display_name
from allocation_api.commands.handover import recalculate_handover
from allocation_api.resolvers.context import RequestContext
from allocation_api.store.enums import CaseEventKind, FactSource
from allocation_api.store.tables import CaseEvent
from allocation_api.store.writes import append_case_event
from allocation_api.upstream import Upstreams
from allocation_api.upstream.models import Prisoner

__all__ = ["CaseFactChange", "begin_case_fact_change"]


@dataclass(frozen=True, slots=True)
class CaseFactChange:
    """A checked change to one prisoner's case facts, by one author."""

    prisoner: Prisoner
    prison: str
    author_username: str | None
    author_name: str | None
    today: dt.date

    async def recorded(
        self, session: AsyncSession, kind: CaseEventKind, detail: dict[str, Any]
    ) -> None:
        """After the command's write, in its transaction: the history row, then the
        stored handover recalculated from the facts as they now are."""
        await append_case_event(
            session,
            CaseEvent(
                offender_no=self.prisoner.prisonerNumber,
                kind=kind,
                source=FactSource.USER,
                prison_code=self.prison,
                detail=detail,
                created_by_username=self.author_username,
                created_by_name=self.author_name,
            ),
        )
        await recalculate_handover(session, self.prisoner, self.today)


async def begin_case_fact_change(
    reads: RequestContext, upstreams: Upstreams, actor: Actor, offender_no: str
) -> CaseFactChange:
    """The fresh prisoner, the prison the actor must be allowed to change, the
    author's name: refused (typed errors) before anything is written."""
    prisoner = await checks.fresh_prisoner(reads, upstreams, actor, offender_no)
    prison = await actor.require_prison(prisoner.prisonId)
    name = await display_name(actor, upstreams, reads.services.caches)
    return CaseFactChange(prisoner, prison, actor.username, name, reads.today)
