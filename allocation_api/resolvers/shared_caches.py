"""The cross-request caches one app instance keeps (see `caching.py`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from allocation_api.caching import BoundedMemo, SingleFlightCache
from allocation_api.resolvers.prison_roll import PrisonRoll
from allocation_api.rules.handover import Handover
from allocation_api.settings import Settings
from allocation_api.upstream.models import (
    Agency,
    NomisUser,
    Prisoner,
    StaffDetail,
    StaffRole,
    UserCaseloads,
)


class HandoverMemo:
    """Answers of the (pure) handover rules, shared across requests.

    The rules take a prisoner record, the owned facts and the day; a page asks
    them for 50 prisoners per request, and the records come from the shared
    prison roll, the same objects for the roll's TTL. The key is the record's
    identity plus a key of the facts (`owned_facts.facts_key`: equal exactly
    when the facts are) and the day; the entry keeps the record itself, so the
    identity cannot be reused while the entry lives, and a record replaced by a
    fresh read misses. Bounded (`BoundedMemo`).
    """

    def __init__(self, maxsize: int) -> None:
        self._entries: BoundedMemo[tuple[int, Hashable, dt.date], tuple[object, Handover]] = (
            BoundedMemo(maxsize)
        )

    def get(
        self, record: object, facts: Hashable, today: dt.date, compute: Callable[[], Handover]
    ) -> Handover:
        key = (id(record), facts, today)
        entry = self._entries.get(key)
        if entry is not None and entry[0] is record:
            return entry[1]
        return self._entries.put(key, (record, compute()))[1]


@dataclass(frozen=True, slots=True)
class SharedCaches:
    """Per-kind TTLs from settings; all bounded by `cache_max_entries`."""

    poms_by_prison: SingleFlightCache[str, list[StaffRole]]
    staff_by_id: SingleFlightCache[int, StaffDetail | None]
    agency_by_id: SingleFlightCache[str, Agency | None]
    user_by_name: SingleFlightCache[str, NomisUser | None]
    caseloads_by_user: SingleFlightCache[str, UserCaseloads | None]
    user_by_staff_id: SingleFlightCache[int, NomisUser | None]
    """NOMIS user roles' account of a staff member (names and email for the REST API)."""
    prisoners_by_prison: SingleFlightCache[str, PrisonRoll]
    prisoner_by_no: SingleFlightCache[str, Prisoner | None]
    handovers: HandoverMemo

    @classmethod
    def from_settings(cls, settings: Settings) -> SharedCaches:
        size = settings.cache_max_entries
        return cls(
            poms_by_prison=SingleFlightCache(
                "poms_by_prison", ttl_s=settings.cache_ttl_poms_s, maxsize=1000
            ),
            staff_by_id=SingleFlightCache(
                "staff_by_id", ttl_s=settings.cache_ttl_staff_s, maxsize=size
            ),
            agency_by_id=SingleFlightCache(
                "agency_by_id", ttl_s=settings.cache_ttl_prisons_s, maxsize=1000
            ),
            user_by_name=SingleFlightCache(
                "user_by_name", ttl_s=settings.cache_ttl_users_s, maxsize=size
            ),
            caseloads_by_user=SingleFlightCache(
                "caseloads_by_user", ttl_s=settings.cache_ttl_caseloads_s, maxsize=size
            ),
            user_by_staff_id=SingleFlightCache(
                "user_by_staff_id", ttl_s=settings.cache_ttl_users_s, maxsize=size
            ),
            # Whole-prison lists are big; keep few of them.
            prisoners_by_prison=SingleFlightCache(
                "prisoners_by_prison", ttl_s=settings.cache_ttl_prisoners_s, maxsize=200
            ),
            prisoner_by_no=SingleFlightCache(
                "prisoner_by_no", ttl_s=settings.cache_ttl_prisoners_s, maxsize=size
            ),
            # Entries hold prisoner records alive: a few pages' worth is the point.
            handovers=HandoverMemo(maxsize=min(size, 5000)),
        )
