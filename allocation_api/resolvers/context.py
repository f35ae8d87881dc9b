"""The typed per-request context: the request's read side.

`Services` holds what lives as long as the app (engine, session factory,
upstream clients, shared caches); `RequestContext` adds who is asking, fresh
DataLoaders and the request's notion of "today" (one date per request, in
Europe/London, so every rule in one response agrees). It lives with the
resolvers because it is made of their loaders and caches and every read use
case takes it; commands take it as `reads`, so a command and the fields of
its result share one read of each fact. Nothing here knows GraphQL (the
schema's `Info` wraps it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.auth.identity import Identity
from allocation_api.keyed_once import KeyedOnce
from allocation_api.resolvers.loaders import Loaders
from allocation_api.resolvers.shared_caches import SharedCaches
from allocation_api.rules.handover import Handover
from allocation_api.settings import Settings
from allocation_api.store.read_pool import Reader
from allocation_api.upstream import Upstreams

if TYPE_CHECKING:
    from allocation_api.auth.verify import TokenVerifier

T = TypeVar("T")

LONDON = ZoneInfo("Europe/London")


def today_in_london() -> dt.date:
    return dt.datetime.now(LONDON).date()


@dataclass(slots=True)
class Services:
    """Long-lived resources, created once in the app's lifespan."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    """Sessions for writes (transactions) and reads that must share one."""
    reads: Reader
    """Where the request path's single-statement batched reads run (the read pool)."""
    upstreams: Upstreams
    caches: SharedCaches
    verifier: TokenVerifier


@dataclass(slots=True)
class RequestContext:
    """What one GraphQL request's resolvers share."""

    services: Services
    identity: Identity
    loaders: Loaders
    request_id: str
    today: dt.date = field(default_factory=today_in_london)
    _caseloads: frozenset[str] | None = None
    _fresh_caseloads: frozenset[str] | None = None
    _own_staff_id: int | None = None
    _own_staff_id_known: bool = False
    _memo: KeyedOnce[Hashable, Any] = field(default_factory=KeyedOnce)
    handovers: dict[str, Handover] = field(default_factory=dict)
    """Handover results by prisoner number (pure, so computing one twice is harmless)."""

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.services.sessions

    async def once(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """Compute `key` once per request; concurrent callers share the result.

        For derived values several fields need (a prison's roster, a prisoner's
        handover), which DataLoaders would otherwise compute per field. The first
        caller computes it, without a task of its own (`KeyedOnce`).
        """
        return cast(T, await self._memo.run(key, lambda _key: compute()))

    async def caseloads(self) -> frozenset[str]:
        """Prisons the calling user may see (NOMIS caseloads); empty for client tokens.

        For reads: may come from the shared cache (`cache_ttl_caseloads_s`).
        Mutations use `caseloads_for_write`.
        """
        if self._caseloads is None:
            username = self.identity.username
            if username is None:
                self._caseloads = frozenset()
            else:
                users = self.services.upstreams.user_roles
                found = await self.services.caches.caseloads_by_user.get(
                    username, lambda: users.caseloads(username)
                )
                self._caseloads = (
                    frozenset() if found is None else frozenset(c.id for c in found.caseloads)
                )
        return self._caseloads

    async def caseloads_for_write(self) -> frozenset[str]:
        """The caller's caseloads as NOMIS has them now, for a mutation's prison check.

        Read from NOMIS user roles on every request that writes, never from the
        shared cache: a prison removed from a user's caseloads stops their
        writes there at once, whatever token they hold. An upstream failure
        propagates, so the mutation is refused rather than checked on an old
        answer. The answer also refreshes the shared cache and this request's
        `caseloads()`, so what the mutation returns is read with the same view.
        """
        if self._fresh_caseloads is None:
            username = self.identity.username
            if username is None:
                fresh: frozenset[str] = frozenset()
            else:
                found = await self.services.upstreams.user_roles.caseloads(username)
                self.services.caches.caseloads_by_user.put(username, found)
                fresh = frozenset() if found is None else frozenset(c.id for c in found.caseloads)
            self._fresh_caseloads = self._caseloads = fresh
        return self._fresh_caseloads

    async def own_staff_id(self) -> int | None:
        """The NOMIS staff id of the calling user (a POM reading their own cases)."""
        if not self._own_staff_id_known:
            self._own_staff_id_known = True
            username = self.identity.username
            if username is not None:
                users = self.services.upstreams.user_roles
                user = await self.services.caches.user_by_name.get(
                    username, lambda: users.user(username)
                )
                self._own_staff_id = None if user is None else user.staffId
        return self._own_staff_id


def new_context(services: Services, identity: Identity, request_id: str) -> RequestContext:
    loaders = Loaders(
        services.reads,
        services.upstreams,
        services.caches,
        max_batch_size=services.settings.upstream_batch_size,
    )
    return RequestContext(
        services=services, identity=identity, loaders=loaders, request_id=request_id
    )
