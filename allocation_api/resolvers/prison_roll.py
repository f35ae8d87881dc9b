"""A prison's roll as prisoner search lists it, with what every request derives from it.

The roll is fetched whole (see `resolvers/prisons.py`) and shared across
requests for `cache_ttl_prisoners_s`. Deriving the OMiC roster (eligibility
for every prisoner, then sorting) costs more CPU than serving a page, so the
roll memoises it per day; the index by number lets later lookups of the same
prisoners in a request skip the upstream without priming a DataLoader with
thousands of futures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from allocation_api.rules.eligibility import in_prison_list, is_omic_eligible
from allocation_api.upstream.models import Prisoner


def _list_order(p: Prisoner) -> tuple[str, str, str]:
    return ((p.lastName or "").upper(), (p.firstName or "").upper(), p.prisonerNumber)


@dataclass(slots=True)
class PrisonRoll:
    prison: str
    prisoners: list[Prisoner]
    by_number: dict[str, Prisoner] = field(init=False)
    _rosters: dict[dt.date, list[Prisoner]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.by_number = {p.prisonerNumber: p for p in self.prisoners}

    def roster(self, today: dt.date) -> list[Prisoner]:
        """Prisoners of this prison the prison lists show: legal status in scope and
        OMiC eligible on `today`, ordered by last name, first name, number."""
        found = self._rosters.get(today)
        if found is None:
            found = sorted(
                (
                    p
                    for p in self.prisoners
                    if p.prisonId == self.prison
                    and in_prison_list(p)
                    and is_omic_eligible(p, today)
                ),
                key=_list_order,
            )
            self._rosters = {today: found}  # keep one day only
        return found
