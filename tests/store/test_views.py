"""Read views mirror the table models exactly (names and types), so the fast read
path cannot silently drop or mistype a column."""

from __future__ import annotations

import dataclasses
import typing

import pytest
from sqlmodel import SQLModel

from allocation_api.store import tables, views

PAIRS = [
    (tables.Allocation, views.AllocationView),
    (tables.CaseInformation, views.CaseInformationView),
    (tables.PomDetail, views.PomDetailView),
    (tables.ResponsibilityOverride, views.ResponsibilityOverrideView),
    (tables.ParoleReview, views.ParoleReviewView),
    (tables.EarlyAllocation, views.EarlyAllocationView),
    (tables.AllocationEvent, views.AllocationEventView),
]


@pytest.mark.parametrize(("table", "view"), PAIRS)
def test_view_fields_match_table(table: type[SQLModel], view: type) -> None:
    table_fields = {name: info.annotation for name, info in table.model_fields.items()}
    hints = typing.get_type_hints(view)
    view_fields = {f.name: hints[f.name] for f in dataclasses.fields(view)}
    # Identity columns are nullable on the table only until the row is inserted.
    for name in ("id",):
        if name in view_fields and name in table_fields:
            table_fields[name] = view_fields[name]
    assert view_fields == table_fields


def test_a_view_must_have_its_tables_columns_in_order() -> None:
    with pytest.raises(TypeError, match="must have the columns of PomDetail"):

        @views.view_of(tables.PomDetail)
        @dataclasses.dataclass
        class Swapped:
            prison_code: str
            staff_id: int


@pytest.mark.parametrize(("table", "view"), PAIRS)
def test_select_lists_come_from_the_table(table: type[SQLModel], view: type) -> None:
    expected = ", ".join(f"t.{column.name}" for column in table.__table__.columns)  # type: ignore[attr-defined]
    assert views.columns(view, "t") == expected
