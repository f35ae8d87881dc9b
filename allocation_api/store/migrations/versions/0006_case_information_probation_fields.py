"""Case information gains the probation record's ROSH, resourcing and VLO facts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

The probation case record (DOMAIN.md: nDelius integration) carries the ROSH
level and its start date, whether the case has enhanced resourcing, and
whether a victim liaison officer is assigned; `imported_at` says when the
record was last read into the row (NULL: typed in by hand). Hand-written and
frozen once released.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROSH_LEVELS = ("LOW", "MEDIUM", "HIGH", "VERY_HIGH")


def upgrade() -> None:
    op.add_column("case_information", sa.Column("rosh_level", sa.Text))
    op.add_column("case_information", sa.Column("rosh_start_date", sa.Date))
    op.add_column("case_information", sa.Column("enhanced_resourcing", sa.Boolean))
    op.add_column(
        "case_information",
        sa.Column("active_vlo", sa.Boolean, nullable=False, server_default=sa.text("false")),
    )
    op.add_column("case_information", sa.Column("imported_at", sa.DateTime(timezone=True)))
    levels = ", ".join(f"'{level}'" for level in ROSH_LEVELS)
    op.create_check_constraint(
        "ck_case_information_rosh_level", "case_information", f"rosh_level IN ({levels})"
    )


def downgrade() -> None:
    op.drop_constraint("ck_case_information_rosh_level", "case_information", type_="check")
    for column in (
        "imported_at",
        "active_vlo",
        "enhanced_resourcing",
        "rosh_start_date",
        "rosh_level",
    ):
        op.drop_column("case_information", column)
