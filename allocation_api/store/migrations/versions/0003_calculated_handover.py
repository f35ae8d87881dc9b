"""Stored handover dates: the last calculated handover of each prisoner.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

Other services read the stored handover (`GET /api/handovers/{nomsNumber}`)
and "the handover changed" is detected against it. Hand-written and frozen
once released: the value lists are repeated here, not imported.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESPONSIBILITIES = ("CUSTODY_ONLY", "CUSTODY_WITH_COM", "COMMUNITY")
REASONS = (
    "ADDITIONAL_ISP",
    "ISP_RECALL_THD_OVER_12_MONTHS",
    "ISP_THD_OVER_12_MONTHS_MAPPA_2_3",
    "ISP_THD_OVER_12_MONTHS",
    "RECALL",
    "IMMIGRATION",
    "NO_RELEASE_DATE",
    "EARLY_ALLOCATION",
    "INDETERMINATE",
    "DETERMINATE_SHORT",
    "DETERMINATE_PED",
    "DETERMINATE",
    "OVERRIDE",
)


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(
        name, sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")
    )


def upgrade() -> None:
    op.create_table(
        "calculated_handover",
        sa.Column("offender_no", sa.String(7), primary_key=True),
        sa.Column("start_date", sa.Date),
        sa.Column("handover_date", sa.Date),
        sa.Column("responsibility", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        _timestamp("last_calculated_at"),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.CheckConstraint(
            "offender_no ~ '^[A-Z][0-9]{4}[A-Z]{2}$'", name="ck_calculated_handover_offender_no"
        ),
        sa.CheckConstraint(
            f"responsibility IN ({_quoted(RESPONSIBILITIES)})",
            name="ck_calculated_handover_responsibility",
        ),
        sa.CheckConstraint(f"reason IN ({_quoted(REASONS)})", name="ck_calculated_handover_reason"),
        sa.CheckConstraint(
            "start_date IS NULL OR handover_date IS NULL OR start_date <= handover_date",
            name="ck_calculated_handover_start_not_after_handover",
        ),
    )


def downgrade() -> None:
    op.drop_table("calculated_handover")
