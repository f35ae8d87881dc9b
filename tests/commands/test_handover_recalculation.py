"""The stored handover moves with the commands that move it, in their transaction,
and `recalculate-handovers` brings whole prisons up to date, safely twice at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from typing import Any

import pytest

from allocation_api.cli import main
from allocation_api.commands import case_fact_change
from allocation_api.commands.handover import recalculate_handover
from allocation_api.commands.recalculate_handovers import (
    in_scope,
    recalculate_handovers,
    terminal_progress,
)
from allocation_api.commands.reconcile import reconcile
from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.resolvers.context import today_in_london
from allocation_api.resolvers.owned_facts import facts_from
from allocation_api.rules import handover as handover_rules
from allocation_api.store.handovers import SessionReader, handovers_by_offender_nos
from allocation_api.store.owned_records import owned_records_by_offender_nos
from allocation_api.store.views import CalculatedHandoverView
from tests.conftest import RunningApi
from tests.e2e.api.helpers import allocate, fresh_prisoner, ready_prisoner_and_pom, set_tier

# A determinate sentence with a parole eligibility date: handover = PED - 12 months.
DETERMINATE_WITH_PED: dict[str, Any] = {
    "dateOfBirth": "1980-01-01",
    "legalStatus": "SENTENCED",
    "imprisonmentStatus": "SENT03",
    "indeterminateSentence": False,
    "recall": False,
    "sentenceStartDate": "2025-01-01",
    "paroleEligibilityDate": "2030-06-15",
    "conditionalReleaseDate": "2031-01-01",
    "automaticReleaseDate": None,
    "releaseDate": "2031-01-01",
    "tariffDate": None,
}

STORED = """query($no: String!) { prisoner(offenderNo: $no) { handover {
  responsibility handoverDate startDate reason differsFromStored
  stored { responsibility handoverDate startDate reason lastCalculatedAt } } } }"""


async def stored(api: RunningApi, no: str) -> CalculatedHandoverView | None:
    return (await handovers_by_offender_nos(api.app.state.services.reads, [no])).get(no)


async def test_case_information_stores_the_handover_worked_cases(api: RunningApi) -> None:
    no = await fresh_prisoner(api, "MDI")
    api.sandbox.data.update_prisoner(no, **DETERMINATE_WITH_PED)
    assert await stored(api, no) is None
    await set_tier(api, no, "C")
    row = await stored(api, no)
    assert row is not None
    assert (row.start_date, row.handover_date, str(row.responsibility), row.reason) == (
        dt.date(2029, 6, 15),
        dt.date(2029, 6, 15),
        "CUSTODY_ONLY",
        "DETERMINATE_PED",
    )
    first_update = row.updated_at

    # The same command again changes nothing the rules read: no write.
    await set_tier(api, no, "D")
    again = await stored(api, no)
    assert again is not None
    assert again.updated_at == first_update

    # A recall in NOMIS, seen by the next command (it reads the prisoner fresh).
    api.sandbox.data.update_prisoner(no, recall=True, legalStatus="RECALL")
    body = await api.gql(STORED, {"no": no})
    live = body["data"]["prisoner"]["handover"]
    assert live["reason"] == "RECALL"
    assert live["differsFromStored"] is True
    assert live["stored"]["reason"] == "DETERMINATE_PED"
    await set_tier(api, no, "D", mappaLevel=2)
    row = await stored(api, no)
    assert row is not None
    assert (row.start_date, row.handover_date, str(row.responsibility), row.reason) == (
        None,
        None,
        "COMMUNITY",
        "RECALL",
    )
    body = await api.gql(STORED, {"no": no})
    assert body["data"]["prisoner"]["handover"]["differsFromStored"] is False


async def test_a_failed_command_leaves_the_stored_handover_unchanged(
    api: RunningApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    no = await fresh_prisoner(api, "MDI")
    api.sandbox.data.update_prisoner(no, **DETERMINATE_WITH_PED)

    async def recalculate_then_fail(*args: Any, **kwargs: Any) -> Any:
        await recalculate_handover(*args, **kwargs)
        raise RuntimeError("fails after the handover was written")

    # updateCaseInformation recalculates through `case_fact_change`.
    monkeypatch.setattr(case_fact_change, "recalculate_handover", recalculate_then_fail)
    body = await api.gql(
        """mutation($input: CaseInformationInput!) { updateCaseInformation(input: $input) {
             __typename } }""",
        {"input": {"offenderNo": no, "tier": "C", "probationService": "ENGLAND"}},
    )
    assert body.get("errors"), body
    assert await stored(api, no) is None
    owned = await owned_records_by_offender_nos(api.app.state.services.reads, [no])
    assert owned[no].case_information is None


async def test_allocation_stores_reconcile_release_removes(api: RunningApi) -> None:
    no, pom = await ready_prisoner_and_pom(api, "MDI")
    services = api.app.state.services
    # Drop the row the case information wrote, to see the allocation write it again.
    async with UnitOfWork(services.sessions).transaction() as session:
        await SessionReader(session).execute(
            "DELETE FROM calculated_handover WHERE offender_no = $1", no
        )
    assert await stored(api, no) is None
    assert (await allocate(api, no, pom["staffId"]))["__typename"] == "Allocation"
    row = await stored(api, no)
    prisoner = await services.upstreams.prisoner_search.get_prisoner(no)
    owned = (await owned_records_by_offender_nos(services.reads, [no]))[no]
    today = today_in_london()
    expected = handover_rules.handover(prisoner, facts_from(owned, prisoner, today), today)
    assert row is not None
    assert (row.start_date, row.handover_date, row.responsibility, row.reason) == (
        expected.start_date,
        expected.handover_date,
        expected.responsibility,
        expected.reason.value,
    )

    api.sandbox.data.update_prisoner(no, prisonId="OUT")
    await reconcile(UnitOfWork(services.sessions), services.upstreams)
    assert await stored(api, no) is None


async def test_two_recalculations_at_once_agree(api: RunningApi) -> None:
    services = api.app.state.services
    uow = UnitOfWork(services.sessions)
    prison = "BXI"
    everyone = await services.upstreams.prisoner_search.all_prisoners_in_prison(prison)
    today = today_in_london()
    wanted = [p for p in everyone if in_scope(p, today)]
    async with uow.transaction() as session:
        await SessionReader(session).execute(
            "DELETE FROM calculated_handover WHERE offender_no = ANY($1::text[])",
            [p.prisonerNumber for p in everyone],
        )

    first, second = await asyncio.gather(
        recalculate_handovers(uow, services.upstreams, prisons=[prison], today=today),
        recalculate_handovers(uow, services.upstreams, prisons=[prison], today=today),
    )
    for report in (first, second):
        assert report.prisons == 1
        assert report.prisoners == len(wanted)
        assert report.failed == 0
    # Each prisoner was written once, by whichever run came first.
    assert first.changed + second.changed == len(wanted)
    assert first.unchanged + second.unchanged == len(wanted)

    rows = await handovers_by_offender_nos(services.reads, [p.prisonerNumber for p in everyone])
    assert set(rows) == {p.prisonerNumber for p in wanted}
    owned = await owned_records_by_offender_nos(services.reads, list(rows))
    for prisoner in wanted:
        expected = handover_rules.handover(
            prisoner, facts_from(owned[prisoner.prisonerNumber], prisoner, today), today
        )
        row = rows[prisoner.prisonerNumber]
        assert (row.start_date, row.handover_date, row.responsibility, row.reason) == (
            expected.start_date,
            expected.handover_date,
            expected.responsibility,
            expected.reason.value,
        )

    # Idempotent: a third run finds nothing to change.
    third = await recalculate_handovers(uow, services.upstreams, prisons=[prison], today=today)
    assert third.as_dict() == {
        "prisons": 1,
        "prisoners": len(wanted),
        "changed": 0,
        "unchanged": len(wanted),
        "removed": 0,
        "failed": 0,
    }


def test_progress_only_on_a_terminal() -> None:
    assert terminal_progress(io.StringIO()) is None

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    show = terminal_progress(screen)
    assert show is not None
    show("LEI", 1, 2)
    show("LEI", 2, 2)
    assert screen.getvalue() == "\rLEI: 1/2\rLEI: 2/2\n"


def test_the_command_needs_a_scope(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recalculate-handovers"]) == 2
    assert "give --prison X or --all" in capsys.readouterr().err
