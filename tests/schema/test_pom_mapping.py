"""`types.pom`: what a POM answers when its owned details were not read.

A page that selects no POM detail field builds its POMs without reading the
details (one statement less). Should a resolver ever misjudge the selection,
the detail fields must fail loudly at their path, never answer a default that
may contradict the recorded details.
"""

from __future__ import annotations

import datetime as dt

import pytest

from allocation_api.errors import AllocationApiError
from allocation_api.resolvers.poms import NOT_READ, PomRead
from allocation_api.schema import types
from allocation_api.schema.enums import PomStatus
from allocation_api.schema.unavailable import Unavailable, resolve_attribute
from allocation_api.store.views import PomDetailView
from allocation_api.upstream.models import StaffRole

ROLE = StaffRole.model_validate(
    {
        "staffId": 7,
        "firstName": "PAT",
        "lastName": "POM",
        "position": "PRO",
        "scheduleType": "FT",
        "hoursPerWeek": 37.5,
        "fromDate": "2020-01-01",
    }
)
DETAIL = PomDetailView(
    staff_id=7,
    prison_code="LEI",
    working_pattern=0.5,
    status=PomStatus.INACTIVE,
    updated_by_username=None,
    created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    version=1,
)


def test_recorded_details_answer_status_and_working_pattern() -> None:
    pom = types.pom(PomRead(7, "LEI", role=ROLE, staff=None, detail=DETAIL))
    assert (pom.status, pom.working_pattern) == (PomStatus.INACTIVE, 0.5)


def test_without_a_record_the_role_gives_the_defaults() -> None:
    pom = types.pom(PomRead(7, "LEI", role=ROLE, staff=None, detail=None))
    assert (pom.status, pom.working_pattern) == (PomStatus.ACTIVE, 1.0)


@pytest.mark.parametrize("field", ["status", "working_pattern"])
def test_details_not_read_fail_at_their_field_but_names_answer(field: str) -> None:
    pom = types.pom(PomRead(7, "LEI", role=ROLE, staff=None, detail=NOT_READ))
    assert (pom.first_name, pom.last_name) == ("PAT", "POM")
    assert type(getattr(pom, field)) is Unavailable
    with pytest.raises(AllocationApiError, match="not read"):
        resolve_attribute(pom, field)


def test_details_not_read_fail_at_their_field_when_nomis_failed_too() -> None:
    pom = types.pom_unavailable(7, "LEI", NOT_READ, AllocationApiError("NOMIS down"))
    with pytest.raises(AllocationApiError, match="not read"):
        resolve_attribute(pom, "status")
