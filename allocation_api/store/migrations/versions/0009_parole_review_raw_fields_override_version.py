"""Parole reviews keep the raw fields; responsibility overrides get a version.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-05

A parole review now stores what the Parole Board's record says (target
hearing date, custody report due date, hearing outcome text, outcome
received date) and the rules derive "completed" and "release" from it
(`rules/parole.py`), so the two derived columns go. Existing rows keep their
meaning: a stored release / no-release answer without an outcome text
becomes the outcome text "Release" / "No Release", and a row marked
completed that the new rule would not see as completed gets its last update
day as the outcome received date. Both kinds of row gain `version` for
`expectedVersion`, and who last changed them. Hand-written and frozen once
released.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The derivation of rules/parole.py, repeated here (frozen with this revision).
_NO_OUTCOME = (
    "lower(btrim(coalesce(hearing_outcome, ''))) IN ('', 'not applicable', 'not specified')"
)
_COMPLETED = f"(NOT ({_NO_OUTCOME}) OR outcome_received_date IS NOT NULL)"


def _version_column() -> sa.Column[int]:
    return sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1"))


def upgrade() -> None:
    op.add_column("parole_review", sa.Column("custody_report_due", sa.Date))
    op.add_column("parole_review", sa.Column("outcome_received_date", sa.Date))
    op.add_column("parole_review", sa.Column("created_by_username", sa.Text))
    op.add_column("parole_review", sa.Column("updated_by_username", sa.Text))
    op.add_column("parole_review", _version_column())
    op.execute(
        f"""UPDATE parole_review SET hearing_outcome =
              CASE WHEN outcome_is_release THEN 'Release' ELSE 'No Release' END
            WHERE outcome_is_release IS NOT NULL AND {_NO_OUTCOME}"""  # noqa: S608 - constants
    )
    op.execute(
        f"""UPDATE parole_review SET outcome_received_date = (updated_at AT TIME ZONE 'UTC')::date
            WHERE completed AND NOT {_COMPLETED}"""  # noqa: S608 - constants
    )
    op.drop_column("parole_review", "outcome_is_release")
    op.drop_column("parole_review", "completed")
    op.create_check_constraint(
        "ck_parole_review_hearing_outcome_length",
        "parole_review",
        "char_length(hearing_outcome) <= 200",
    )
    op.create_check_constraint("ck_parole_review_version", "parole_review", "version >= 1")

    op.add_column("responsibility_override", sa.Column("updated_by_username", sa.Text))
    op.add_column(
        "responsibility_override",
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
    )
    op.execute("UPDATE responsibility_override SET updated_at = created_at")
    op.add_column("responsibility_override", _version_column())
    op.create_check_constraint(
        "ck_responsibility_override_version", "responsibility_override", "version >= 1"
    )


def downgrade() -> None:
    op.drop_constraint(
        "ck_responsibility_override_version", "responsibility_override", type_="check"
    )
    for column in ("version", "updated_at", "updated_by_username"):
        op.drop_column("responsibility_override", column)

    op.drop_constraint("ck_parole_review_version", "parole_review", type_="check")
    op.drop_constraint("ck_parole_review_hearing_outcome_length", "parole_review", type_="check")
    op.add_column("parole_review", sa.Column("outcome_is_release", sa.Boolean))
    op.add_column(
        "parole_review",
        sa.Column("completed", sa.Boolean, nullable=False, server_default=sa.text("false")),
    )
    op.execute(
        f"""UPDATE parole_review SET completed = {_COMPLETED},
              outcome_is_release = CASE WHEN {_COMPLETED} THEN hearing_outcome = 'Release' END"""  # noqa: S608
    )
    for column in (
        "version",
        "updated_by_username",
        "created_by_username",
        "outcome_received_date",
        "custody_report_due",
    ):
        op.drop_column("parole_review", column)
