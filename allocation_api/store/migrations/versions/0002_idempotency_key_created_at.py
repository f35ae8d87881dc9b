"""Index idempotency keys by age, for the purge of expired keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

The purge deletes the oldest expired keys in bounded batches
(`store/idempotency.py`); without this index each batch scans the table.
Hand-written and frozen once released: do not import application code here.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_idempotency_key_created_at", "idempotency_key", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_key_created_at", table_name="idempotency_key")
