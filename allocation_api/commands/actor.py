"""Who runs a command, and the facts about them a command needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from allocation_api.auth import policy
from allocation_api.auth.identity import Identity
from allocation_api.errors import NotAllowed, UpstreamError
from allocation_api.resolvers.shared_caches import SharedCaches
from allocation_api.upstream import Upstreams

SYSTEM_USER = "ALLOCATION_API"
"""Recorded as `createdBy` of automatic changes."""


@dataclass(frozen=True, slots=True)
class Actor:
    """The acting identity; `caseloads` reads the prisons it may change (once per request).

    For a user, `caseloads` is read fresh from NOMIS (`caseloads_for_write`),
    never from the cross-request cache: a prison removed from a user's
    caseloads stops their writes there at once, whatever token they hold.
    """

    identity: Identity
    caseloads: Callable[[], Awaitable[frozenset[str]]]

    @property
    def username(self) -> str | None:
        """Recorded as `createdBy`: the user, or the client of a client token."""
        return self.identity.username or self.identity.client_id

    async def require_prison(self, prison: str | None) -> str:
        """The prison, if the actor may change allocations there; else `NotAllowed`.

        No prison is refused like a prison outside the caseloads, as
        `policy.can_mutate` refuses it. The commands pass a prisoner's prison
        that `checks.fresh_prisoner` has accepted, a stored allocation's prison
        or the prison an input names, so none is None in practice.
        """
        if prison is None or not policy.can_mutate(self.identity, await self.caseloads(), prison):
            raise NotAllowed(
                f"You may not change allocations at {prison or 'no prison'}"
                " (not in your caseloads)",
                code="FORBIDDEN_PRISON",
            )
        return prison


async def display_name(actor: Actor, upstreams: Upstreams, caches: SharedCaches) -> str | None:
    """The actor's name as recorded with a change (NOMIS name, else username or client)."""
    identity = actor.identity
    if identity.display_name:
        return identity.display_name
    if identity.username is None:
        return identity.client_id
    try:
        users = upstreams.user_roles
        username = identity.username
        user = await caches.user_by_name.get(username, lambda: users.user(username))
    except UpstreamError:
        return identity.username
    if user is None or not (user.firstName or user.lastName):
        return identity.username
    return " ".join(part for part in (user.firstName, user.lastName) if part)
