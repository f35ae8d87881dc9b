"""Stored mutation responses, so a retried request (same idempotency key) is replayed.

Use inside the mutation's transaction:

    stored = await find_idempotent_response(session, key, operation)
    if stored is not None:
        -> replay stored.response if stored.request_hash matches, else refuse
    ...do the work...
    if not await record_idempotent_response(session, IdempotencyKey(...)):
        -> a concurrent request with the same key won: roll back, replay its response

`record_idempotent_response` waits for a concurrent transaction that is
inserting the same key, so exactly one of two racing requests wins.

Mutations claim the key before writing instead (`guards.claim_idempotency_key`),
so the record and the write commit or roll back together.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.store.failures import translate_store_errors
from allocation_api.store.tables import IdempotencyKey

__all__ = ["find_idempotent_response", "record_idempotent_response"]


@translate_store_errors()
async def find_idempotent_response(
    session: AsyncSession, key: str, operation: str
) -> IdempotencyKey | None:
    """The stored response for (`key`, `operation`), if any (1 statement)."""
    statement = select(IdempotencyKey).where(
        col(IdempotencyKey.key) == key, col(IdempotencyKey.operation) == operation
    )
    return (await session.exec(statement)).one_or_none()


@translate_store_errors()
async def record_idempotent_response(session: AsyncSession, row: IdempotencyKey) -> bool:
    """Store a response unless one exists for the same key and operation (1 statement).

    True when this call stored it; False when another request already had.
    """
    values = {
        "key": row.key,
        "operation": row.operation,
        "request_hash": row.request_hash,
        "response": row.response,
        "created_by_username": row.created_by_username,
    }
    statement = (
        insert(IdempotencyKey)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=[col(IdempotencyKey.key), col(IdempotencyKey.operation)]
        )
        .returning(col(IdempotencyKey.key))
    )
    with session.no_autoflush:
        inserted = (await session.exec(statement)).first()
    return inserted is not None
