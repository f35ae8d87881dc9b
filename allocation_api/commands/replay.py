"""Idempotency keys for the case-fact commands: claim first, replay a retry, refuse a reuse.

The same protocol as `allocation_change.change_allocation` (`guards.claim_idempotency_key`):
the key is claimed inside the command's transaction before its write, the
answer stored before commit, so key and write commit or roll back together.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.commands.actor import Actor
from allocation_api.commands.allocation_change import Replay
from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.errors import Conflict
from allocation_api.store import guards

__all__ = ["Replay", "claim", "remember", "snapshot"]


def snapshot(row: SQLModel) -> dict[str, Any]:
    """A row as the JSON stored for a replay."""
    return orjson.loads(orjson.dumps(row.model_dump(mode="json")))  # type: ignore[no-any-return]


async def claim(
    session: AsyncSession, uow: UnitOfWork, actor: Actor, replay: Replay
) -> dict[str, Any] | None:
    """None: go on and write (no key, or the key is now claimed). Otherwise the stored
    answer of the first request with this key; a different request or user is refused."""
    if replay.key is None:
        return None
    seen = await guards.claim_idempotency_key(
        session,
        key=replay.key,
        operation=replay.operation,
        request_hash=replay.fingerprint,
        username=actor.username,
        retention=uow.idempotency_retention,
    )
    if seen is None:
        return None
    if seen.request_hash != replay.fingerprint or seen.created_by_username != actor.username:
        raise Conflict(
            "This idempotencyKey was used for a different request",
            code="IDEMPOTENCY_KEY_REUSED",
        )
    return seen.response


async def remember(session: AsyncSession, replay: Replay, response: dict[str, Any]) -> None:
    """Store the answer of the write that claimed the key (nothing without a key)."""
    if replay.key is not None:
        await guards.store_idempotent_response(
            session, key=replay.key, operation=replay.operation, response=response
        )
