"""The cross-request caches one app instance keeps (see `caching.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from allocation_api.caching import SingleFlightCache
from allocation_api.resolvers.prison_roll import PrisonRoll
from allocation_api.settings import Settings
from allocation_api.upstream.models import (
    Agency,
    NomisUser,
    Prisoner,
    StaffDetail,
    StaffRole,
    UserCaseloads,
)


@dataclass(frozen=True, slots=True)
class SharedCaches:
    """Per-kind TTLs from settings; all bounded by `cache_max_entries`."""

    poms_by_prison: SingleFlightCache[str, list[StaffRole]]
    staff_by_id: SingleFlightCache[int, StaffDetail | None]
    agency_by_id: SingleFlightCache[str, Agency | None]
    user_by_name: SingleFlightCache[str, NomisUser | None]
    caseloads_by_user: SingleFlightCache[str, UserCaseloads | None]
    prisoners_by_prison: SingleFlightCache[str, PrisonRoll]
    prisoner_by_no: SingleFlightCache[str, Prisoner | None]

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
                "caseloads_by_user", ttl_s=settings.cache_ttl_users_s, maxsize=size
            ),
            # Whole-prison lists are big; keep few of them.
            prisoners_by_prison=SingleFlightCache(
                "prisoners_by_prison", ttl_s=settings.cache_ttl_prisoners_s, maxsize=200
            ),
            prisoner_by_no=SingleFlightCache(
                "prisoner_by_no", ttl_s=settings.cache_ttl_prisoners_s, maxsize=size
            ),
        )
