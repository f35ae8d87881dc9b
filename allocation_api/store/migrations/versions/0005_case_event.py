"""The case history log: one row per change to a prisoner's case facts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05

Allocation changes have their own history (`allocation_event`); every other
owned case fact (case information, overrides, parole reviews, early
allocation assessments, VLO contacts, checklist tasks, the release clean-up)
appends here in the transaction of the change. Hand-written and frozen once
released: the value lists are repeated here, not imported.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "CASE_INFORMATION_SET",
    "CASE_INFORMATION_IMPORTED",
    "OVERRIDE_SET",
    "OVERRIDE_REMOVED",
    "PAROLE_REVIEW_RECORDED",
    "PAROLE_REVIEW_UPDATED",
    "EARLY_ALLOCATION_ASSESSED",
    "VLO_CONTACT_ADDED",
    "VLO_CONTACT_EDITED",
    "VLO_CONTACT_REMOVED",
    "CHECKLIST_TASK_TICKED",
    "CHECKLIST_TASK_UNTICKED",
    "RELEASED_SENTENCE_CLEARED",
)
SOURCES = ("USER", "PROBATION", "SYSTEM")


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def upgrade() -> None:
    op.create_table(
        "case_event",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("offender_no", sa.String(7), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("prison_code", sa.String(3)),
        sa.Column("detail", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_by_username", sa.Text),
        sa.Column("created_by_name", sa.Text),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.CheckConstraint(
            "offender_no ~ '^[A-Z][0-9]{4}[A-Z]{2}$'", name="ck_case_event_offender_no"
        ),
        sa.CheckConstraint(f"kind IN ({_quoted(KINDS)})", name="ck_case_event_kind"),
        sa.CheckConstraint(f"source IN ({_quoted(SOURCES)})", name="ck_case_event_source"),
        sa.CheckConstraint(
            "jsonb_typeof(detail) = 'object'", name="ck_case_event_detail_is_object"
        ),
    )
    op.create_index("ix_case_event_offender_no_id", "case_event", ["offender_no", "id"])


def downgrade() -> None:
    op.drop_table("case_event")
