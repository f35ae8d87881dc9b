"""With upstreams failing, the fast execution paths still answer exactly as plain strawberry.

Partial results depend on the slow path taking over whenever a leaf holds an
`Unavailable` marker (see `schema/fast_execution.py`); this runs the same documents
through an instance with `fast_execution=False` and requires identical data and
errors, for each failing upstream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from allocation_api.sandbox import Fault, Sandbox
from tests.conftest import RunningApi, running_api
from tests.e2e.api.helpers import allocate, co_work, ready_prisoner_and_pom
from tests.e2e.api.random_documents import random_document
from tests.e2e.api.test_fast_execution import same_answer
from tests.e2e.resilience.conftest import fault_settings

FIXED = """{ prisoner(offenderNo: "%s") {
  offenderNo firstName lastName dateOfBirth prisonId legalStatus cellLocation category
  sentence { releaseDate conditionalReleaseDate indeterminate }
  omicEligible handover { reason handoverDate } responsibility recommendedPomType
  caseInformation { tier version }
  allocation { offenderNo version primaryPomStaffId primaryPomName
    history { event trigger allocationVersion primaryPomStaffId }
    primaryPom { staffId firstName lastName email position pomType status workingPattern }
    secondaryPom { staffId firstName lastName caseloadCounts { total } }
    prisoner { offenderNo firstName lastName } }
} }"""


@pytest.fixture(scope="module")
async def plain_fault_api(box: Sandbox, resilience_db: str) -> AsyncIterator[RunningApi]:
    async with running_api(
        fault_settings(box, resilience_db, fast_execution=False), box
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def fault_cases(fault_api: RunningApi) -> dict[str, Any]:
    no, primary = await ready_prisoner_and_pom(fault_api)
    await allocate(fault_api, no, primary["staffId"])
    await co_work(fault_api, no, primary["staffId"])
    return {"prisoner": no, "pom": primary["staffId"]}


@pytest.mark.parametrize("upstream", ["prisoner-search", "prison-api"])
async def test_partial_results_are_the_same_on_both_paths(
    box: Sandbox,
    fault_api: RunningApi,
    plain_fault_api: RunningApi,
    fault_cases: dict[str, Any],
    upstream: str,
) -> None:
    token = await fault_api.token()  # before the fault: sign-in and caseloads stay up
    await plain_fault_api.token()
    no, pom = fault_cases["prisoner"], fault_cases["pom"]
    box.set_fault(upstream, Fault(status=503, mode="error"))
    fixed = [FIXED % no]
    randoms = [
        random_document(seed, root)
        for seed in range(12)
        for root in (
            f'prisoner(offenderNo: "{no}") : Prisoner',
            f'pom(staffId: {pom}, prisonCode: "LEI") : Pom',
        )
    ]
    failed = 0
    for document in fixed + randoms:
        body = await same_answer(fault_api, plain_fault_api, document, token=token)
        failed += bool(body.get("errors"))
    assert failed > 0, "the fault never showed: the comparison proved nothing"
