"""One command's transaction, and the owned keys it changed.

`transaction()` is the only place a command opens a session and a
transaction: store failures become the domain's `StoreUnavailable` /
`StoreConstraintViolation` (`store/failures.py`), and any exception rolls the
whole unit back. What a command changed is recorded here so that the caller
(the GraphQL mutation) can drop the request's memoised reads of those keys
without the command knowing about loaders.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.store.failures import translate_store_errors
from allocation_api.store.idempotency import DEFAULT_RETENTION


@dataclass(slots=True)
class UnitOfWork:
    sessions: async_sessionmaker[AsyncSession]
    idempotency_retention: timedelta = DEFAULT_RETENTION
    """How long a claimed idempotency key is honoured (`settings.idempotency_retention`)."""
    allocations_changed: set[str] = field(default_factory=set)
    """Prisoners whose allocation (and so its history) changed."""
    case_information_changed: set[str] = field(default_factory=set)
    """Prisoners whose case information changed."""
    owned_changed: set[str] = field(default_factory=set)
    """Prisoners whose other owned case facts (override, parole reviews) changed."""
    pom_details_changed: set[tuple[int, str]] = field(default_factory=set)
    """(staff id, prison) of POMs whose details (and so caseload) changed."""

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed if the block ends normally."""
        async with translate_store_errors(), self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads outside a transaction block (store errors translated)."""
        async with translate_store_errors(), self.sessions() as session:
            yield session
