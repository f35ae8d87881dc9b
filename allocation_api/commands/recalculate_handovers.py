"""`allocation-api recalculate-handovers`: bring stored handovers up to date in bulk.

The commands recalculate a prisoner's handover when they change an input
(`commands/handover.py`); this job catches what no command sees: time
passing (responsibility moves on the start and handover dates), sentence
dates, recalls and moves changing in NOMIS. The real service runs the same
recalculation daily.

Per prison it reads every prisoner from prisoner search in bulk (big pages,
fetched concurrently), then recalculates each in-scope prisoner (prison list
legal status and OMiC eligible, as the prison lists) in a transaction of its
own with `recalculate_handover`, and deletes the stored row of a prisoner of
that prison who is no longer in scope. `--all` takes every prison the store
has allocations at, then every other prisoner the store holds case
information or a stored handover for, read by number: a released prisoner's
row is removed, one found in a prison is recalculated, one prisoner search
does not know is left alone (a lagging index proves nothing).

Safe to run twice at once (two replicas of a CronJob): each prisoner's
transaction holds the prisoner's handover lock while it reads, compares and
writes, so the second run sees the first's row and counts it unchanged; the
stored rows are the same whichever run wrote them (the calculation is pure
in the NOMIS record, the owned facts and today's date). Idempotent: a second
run on the same data changes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from allocation_api.commands.handover import recalculate_handover, remove_handover
from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.errors import AllocationApiError
from allocation_api.resolvers.context import today_in_london
from allocation_api.rules.eligibility import in_prison_list, is_omic_eligible
from allocation_api.store.handovers import SessionReader
from allocation_api.upstream import Upstreams
from allocation_api.upstream.models import Prisoner

log = logging.getLogger(__name__)

__all__ = ["RecalculationReport", "recalculate_handovers"]

RELEASED = "OUT"
CONCURRENCY = 8
"""Prisoners recalculated at once (each its own transaction and connection)."""
LOOKUP_BATCH = 1000


@dataclass(slots=True)
class RecalculationReport:
    prisons: int = 0
    prisoners: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "prisons": self.prisons,
            "prisoners": self.prisoners,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "failed": self.failed,
        }


Progress = Callable[[str, int, int], None]


def terminal_progress(stream: TextIO | None = None) -> Progress | None:
    """A one-line progress display on stderr, only when stderr is a terminal."""
    out = sys.stderr if stream is None else stream
    if not out.isatty():
        return None

    def show(label: str, done: int, total: int) -> None:
        end = "\n" if done == total else ""
        out.write(f"\r{label}: {done}/{total}{end}")
        out.flush()

    return show


def in_scope(prisoner: Prisoner, today: dt.date) -> bool:
    return in_prison_list(prisoner) and is_omic_eligible(prisoner, today)


async def _one(
    uow: UnitOfWork, prisoner: Prisoner, today: dt.date, report: RecalculationReport
) -> None:
    """One prisoner in its own transaction; a failure is counted, never fatal."""
    number = prisoner.prisonerNumber
    try:
        async with uow.transaction() as session:
            if prisoner.prisonId != RELEASED and in_scope(prisoner, today):
                done = await recalculate_handover(session, prisoner, today)
                report.prisoners += 1
                if done.written:
                    report.changed += 1
                else:
                    report.unchanged += 1
            elif await remove_handover(session, number):
                report.removed += 1
    except AllocationApiError as error:
        report.failed += 1
        report.failures.append(number)
        log.warning("recalculate-handovers %s: %s", number, error)


async def _run_all(
    uow: UnitOfWork,
    prisoners: Sequence[Prisoner],
    today: dt.date,
    report: RecalculationReport,
    label: str,
    progress: Progress | None,
) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)
    done = 0

    async def guarded(prisoner: Prisoner) -> None:
        nonlocal done
        async with gate:
            await _one(uow, prisoner, today, report)
        done += 1
        if progress is not None:
            progress(label, done, len(prisoners))

    await asyncio.gather(*(guarded(p) for p in prisoners))


async def _store_numbers(uow: UnitOfWork) -> tuple[list[str], list[str]]:
    """(prisons with allocations, every prisoner number the store holds handover inputs for)."""
    async with uow.reading() as session:
        reader = SessionReader(session)
        prisons = await reader.fetch("SELECT DISTINCT prison_code FROM allocation ORDER BY 1")
        numbers = await reader.fetch(
            "SELECT offender_no FROM case_information UNION "
            "SELECT offender_no FROM calculated_handover ORDER BY 1"
        )
        return [row[0] for row in prisons], [row[0] for row in numbers]


async def recalculate_handovers(
    uow: UnitOfWork,
    upstreams: Upstreams,
    *,
    prisons: Sequence[str] = (),
    everything: bool = False,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> RecalculationReport:
    """Recalculate the stored handover of every prisoner of `prisons` (or of all, with
    `everything`); see the module docstring for what is read and removed."""
    day = today or today_in_london()
    report = RecalculationReport()
    wanted = list(dict.fromkeys(p.upper() for p in prisons))
    others: list[str] = []
    if everything:
        known_prisons, others = await _store_numbers(uow)
        wanted = list(dict.fromkeys([*wanted, *known_prisons]))
    seen: set[str] = set()
    for prison in wanted:
        everyone = await upstreams.prisoner_search.all_prisoners_in_prison(prison)
        report.prisons += 1
        seen.update(p.prisonerNumber for p in everyone)
        await _run_all(uow, everyone, day, report, prison, progress)
    rest = [n for n in others if n not in seen]
    for start in range(0, len(rest), LOOKUP_BATCH):
        found = await upstreams.prisoner_search.prisoners_by_numbers(
            rest[start : start + LOOKUP_BATCH]
        )
        await _run_all(uow, found, day, report, "others", progress)
    return report
