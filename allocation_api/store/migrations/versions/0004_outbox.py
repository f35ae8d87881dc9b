"""The transactional outbox of outgoing domain events.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

Commands insert a row in the transaction of the change it reports; the
publisher (`events/publisher.py`) claims pending rows with FOR UPDATE SKIP
LOCKED, sends them to SNS and marks them published or, after too many
failures, parked. The partial indexes serve the claim (each prisoner's oldest
pending row) and the prune of published rows.
Hand-written and frozen once released: do not import application code here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    now = sa.text("now()")
    op.create_table(
        "event_outbox",
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("offender_no", sa.String(7), nullable=False),
        sa.Column("payload", pg.JSONB, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("state", sa.Text, nullable=False, server_default=sa.text("'pending'")),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=now
        ),
        sa.Column("last_error", sa.Text),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("event_id", name="uq_event_outbox_event_id"),
        sa.CheckConstraint(
            "state IN ('pending', 'published', 'parked')", name="ck_event_outbox_state"
        ),
        sa.CheckConstraint("attempts >= 0", name="ck_event_outbox_attempts"),
        sa.CheckConstraint(
            "(state = 'published') = (published_at IS NOT NULL)",
            name="ck_event_outbox_published_at",
        ),
    )
    op.create_index(
        "ix_event_outbox_pending",
        "event_outbox",
        ["offender_no", "seq"],
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        "ix_event_outbox_parked",
        "event_outbox",
        ["seq"],
        postgresql_where=sa.text("state = 'parked'"),
    )
    op.create_index(
        "ix_event_outbox_published_at",
        "event_outbox",
        ["published_at"],
        postgresql_where=sa.text("state = 'published'"),
    )


def downgrade() -> None:
    op.drop_table("event_outbox")
