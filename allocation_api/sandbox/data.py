"""The sandbox's world: prisons, prisoners, staff, NOMIS users and movements.

One mutable object shared by the four fake servers, so that what one fake
says agrees with the others (a POM's user account lists the prisons where
prison-api says they hold the role; a released prisoner's movement matches
prisoner search). Records are kept exactly as the upstream JSON looks (null
fields absent, dates as `yyyy-MM-dd` strings), so a server only serialises.

In-process tests change the world through the mutators (`set_prisoner`,
`remove_prisoner`, `set_staff_status`, `set_pom_role`, `set_user`, ...); they
keep the per-prisoner JSON cache and the prison index in step. The readers
return copies so a test cannot change the world by accident.
"""

from __future__ import annotations

import bisect
import copy
import datetime as dt
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from allocation_api.sandbox.generate import generate_into
from allocation_api.sandbox.reference import COURTS, KNOWN_PRISONS, prison_info
from allocation_api.sandbox.sentences import (
    CIVIL_IMPRISONMENT_STATUSES,
    IN_SCOPE_LEGAL_STATUSES,
)

__all__ = [
    "CIVIL_IMPRISONMENT_STATUSES",
    "IN_SCOPE_LEGAL_STATUSES",
    "PRISONER_NUMBER",
    "SandboxData",
    "SandboxUser",
    "age_on",
]

PRISONER_NUMBER = re.compile(r"^[A-Z][0-9]{4}[A-Z]{2}$")
"""The shape of a prisoner number (`A1234BC`)."""

PrisonerPredicate = Callable[[Mapping[str, Any]], bool]

_DEFAULT_PRISONS = ("LEI", "MDI", "BXI")
_SCHEDULE_DESCRIPTIONS = {"FT": "Full Time", "PT": "Part Time"}
_POSITION_DESCRIPTIONS = {"PRO": "Prison Officer", "PO": "Probation Officer"}


@dataclass(frozen=True, slots=True)
class SandboxUser:
    """A NOMIS user account as NOMIS user roles knows it."""

    username: str
    first_name: str
    last_name: str
    staff_id: int | None = None
    email: str | None = None
    caseloads: tuple[str, ...] = ()
    active_caseload: str | None = None
    roles: tuple[str, ...] = ()
    """DPS role codes, without the `ROLE_` prefix (as NOMIS user roles lists them)."""
    account_status: str = "OPEN"


def age_on(date_of_birth: str | dt.date, today: dt.date) -> int:
    """Whole years between a birth date and `today` (the birthday counts on the day)."""
    dob = dt.date.fromisoformat(date_of_birth) if isinstance(date_of_birth, str) else date_of_birth
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def _without_nulls(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v is not None}


@dataclass
class SandboxData:
    """Everything the fake upstreams serve; build it with `SandboxData.generate`."""

    today: dt.date
    prison_codes: tuple[str, ...]
    agencies: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    _prisoners: dict[str, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)
    _prisoner_json: dict[str, bytes] = field(default_factory=dict, init=False, repr=False)
    _by_prison: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False)
    _staff: dict[int, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)
    _roles: dict[str, dict[int, dict[str, Any]]] = field(
        default_factory=dict, init=False, repr=False
    )
    _users: dict[str, SandboxUser] = field(default_factory=dict, init=False, repr=False)
    _movements: list[dict[str, Any]] = field(default_factory=list, init=False, repr=False)
    version: int = 0
    """Bumped by every mutation, so a server may cache derived answers."""

    @classmethod
    def generate(
        cls,
        seed: int = 42,
        prisoners_per_prison: int = 300,
        prisons: Sequence[str] = _DEFAULT_PRISONS,
        poms_per_prison: int = 12,
        *,
        today: dt.date | None = None,
    ) -> SandboxData:
        """Deterministic realistic data: same seed and same `today` give identical data."""
        codes = tuple(dict.fromkeys(prisons))
        if not codes:
            raise ValueError("at least one prison is needed")
        infos = [prison_info(c) for c in codes]
        data = cls(today=today or dt.date.today(), prison_codes=codes)
        for info in {**KNOWN_PRISONS, **{i.code: i for i in infos}}.values():
            data.agencies[info.code] = {
                "agencyId": info.code,
                "description": info.name,
                "longDescription": info.name,
                "agencyType": "INST",
                "active": True,
            }
        for code, name in COURTS.items():
            data.agencies[code] = {
                "agencyId": code,
                "description": name,
                "agencyType": "CRT",
                "active": True,
            }
        generate_into(
            data,
            random.Random(seed),
            infos,
            prisoners_per_prison=prisoners_per_prison,
            poms_per_prison=poms_per_prison,
        )
        return data

    # ------------------------------------------------------------------ prisons
    def agency(self, agency_id: str) -> dict[str, Any] | None:
        """`GET /api/agencies/{agencyId}` body, or None when unknown."""
        found = self.agencies.get(agency_id)
        return dict(found) if found is not None else None

    def prison_name(self, code: str) -> str:
        """Display name of an agency (its description), or the code when unknown."""
        found = self.agencies.get(code)
        return str(found["description"]) if found else code

    # ---------------------------------------------------------------- prisoners
    def prisoner(self, prisoner_number: str) -> dict[str, Any] | None:
        """A copy of one prisoner as prisoner search returns it, or None."""
        found = self._prisoners.get(prisoner_number)
        return copy.deepcopy(found) if found is not None else None

    def prisoner_json(self, prisoner_number: str) -> bytes | None:
        """The prisoner's JSON, serialised once and cached until the prisoner changes."""
        cached = self._prisoner_json.get(prisoner_number)
        if cached is None:
            record = self._prisoners.get(prisoner_number)
            if record is None:
                return None
            cached = orjson.dumps(record)
            self._prisoner_json[prisoner_number] = cached
        return cached

    def prisoner_numbers(self, prison: str | None = None) -> list[str]:
        """Prisoner numbers in a prison (ordered as the prison list pages them), or all."""
        if prison is None:
            return list(self._prisoners)
        return list(self._by_prison.get(prison, ()))

    def prison_slice(self, prison: str, start: int, stop: int) -> tuple[int, list[bytes]]:
        """(total in prison, cached JSON of prisoners [start:stop]) for one page."""
        numbers = self._by_prison.get(prison, [])
        page = numbers[start:stop]
        return len(numbers), [self.prisoner_json(n) or b"null" for n in page]

    def prisoners(self, prison: str | None = None) -> list[dict[str, Any]]:
        """Copies of every prisoner in a prison (or everywhere)."""
        return [copy.deepcopy(self._prisoners[n]) for n in self._numbers(prison)]

    def _numbers(self, prison: str | None) -> Iterable[str]:
        return self._prisoners.keys() if prison is None else self._by_prison.get(prison, ())

    def sample_prisoners(
        self,
        prison: str | None = None,
        predicate: PrisonerPredicate | None = None,
        k: int = 1,
        *,
        seed: int = 0,
    ) -> list[dict[str, Any]]:
        """Up to `k` prisoners matching `predicate`, picked reproducibly by `seed`."""
        pool = [self._prisoners[n] for n in self._numbers(prison)]
        if predicate is not None:
            pool = [p for p in pool if predicate(p)]
        picked = random.Random(seed).sample(pool, min(k, len(pool)))
        return [copy.deepcopy(p) for p in picked]

    def is_in_scope_status(self, prisoner: Mapping[str, Any]) -> bool:
        """Legal status is one of the four the prison lists consider."""
        return prisoner.get("legalStatus") in IN_SCOPE_LEGAL_STATUSES

    def age(self, prisoner: Mapping[str, Any]) -> int:
        """The prisoner's age today (in the data's notion of today)."""
        return age_on(prisoner["dateOfBirth"], self.today)

    def set_prisoner(self, prisoner: Mapping[str, Any]) -> None:
        """Insert or replace a prisoner; None values are dropped (upstreams omit nulls)."""
        record = _without_nulls(prisoner)
        number = record["prisonerNumber"]
        if not PRISONER_NUMBER.fullmatch(number):
            raise ValueError(f"not a prisoner number: {number!r}")
        record.setdefault("alerts", [])
        record.setdefault("restrictedPatient", False)
        if "bookingId" in record:
            record["bookingId"] = str(record["bookingId"])
        old = self._prisoners.get(number)
        if old is not None:
            self._unindex(number, old.get("prisonId"))
        self._prisoners[number] = record
        self._prisoner_json.pop(number, None)
        prison = record.get("prisonId")
        if prison is not None:
            bisect.insort(self._by_prison.setdefault(prison, []), number)
        self.version += 1

    def load_prisoners(self, records: Iterable[dict[str, Any]]) -> None:
        """Bulk insert trusted, already null-free records (generation's fast path).

        Indexes are sorted once at the end instead of per record, which is
        what keeps 50,000 prisoners cheap; use `set_prisoner` for anything
        that needs checking.
        """
        touched: set[str] = set()
        for record in records:
            number = record["prisonerNumber"]
            if number in self._prisoners:
                raise ValueError(f"duplicate prisoner number {number}")
            self._prisoners[number] = record
            prison = record.get("prisonId")
            if prison is not None:
                self._by_prison.setdefault(prison, []).append(number)
                touched.add(prison)
        for prison in touched:
            self._by_prison[prison].sort()
        self.version += 1

    def update_prisoner(self, prisoner_number: str, **changes: Any) -> dict[str, Any]:
        """Change some fields of a prisoner (None removes a field); returns the new record."""
        current = self._prisoners.get(prisoner_number)
        if current is None:
            raise KeyError(prisoner_number)
        merged = {**current, **changes}
        self.set_prisoner(merged)
        return copy.deepcopy(self._prisoners[prisoner_number])

    def remove_prisoner(self, prisoner_number: str) -> None:
        """Forget a prisoner entirely (prisoner search then answers 404)."""
        old = self._prisoners.pop(prisoner_number, None)
        if old is None:
            raise KeyError(prisoner_number)
        self._prisoner_json.pop(prisoner_number, None)
        self._unindex(prisoner_number, old.get("prisonId"))
        self.version += 1

    def _unindex(self, number: str, prison: str | None) -> None:
        numbers = self._by_prison.get(prison or "", [])
        i = bisect.bisect_left(numbers, number)
        if i < len(numbers) and numbers[i] == number:
            del numbers[i]

    # -------------------------------------------------------------------- staff
    def staff_member(self, staff_id: int) -> dict[str, Any] | None:
        """One element of `POST /api/staff`, or None when unknown."""
        found = self._staff.get(staff_id)
        return dict(found) if found is not None else None

    def staff_members(self, staff_ids: Iterable[int]) -> list[dict[str, Any]]:
        """The known staff among `staff_ids`, unknown ids skipped (as prison-api does)."""
        return [dict(self._staff[s]) for s in dict.fromkeys(staff_ids) if s in self._staff]

    def poms(self, prison: str) -> list[dict[str, Any]]:
        """Role rows of everyone holding the POM role at `prison`, ordered by name."""
        rows = self._roles.get(prison, {}).values()
        ordered = sorted(rows, key=lambda r: (r["lastName"], r["firstName"], r["staffId"]))
        return [dict(r) for r in ordered]

    def pom_staff_ids(self, prison: str) -> list[int]:
        """Staff ids holding the POM role at `prison`."""
        return [r["staffId"] for r in self.poms(prison)]

    def active_poms(self, prison: str) -> list[dict[str, Any]]:
        """POM role rows whose staff record is ACTIVE."""
        return [r for r in self.poms(prison) if self._staff[r["staffId"]]["status"] == "ACTIVE"]

    def inactive_poms(self, prison: str) -> list[dict[str, Any]]:
        """POM role rows whose staff record is INACT (still listed by the role endpoint)."""
        return [r for r in self.poms(prison) if self._staff[r["staffId"]]["status"] == "INACT"]

    def pom_prisons(self, staff_id: int) -> list[str]:
        """Prisons where `staff_id` holds the POM role."""
        return [p for p, rows in self._roles.items() if staff_id in rows]

    def non_pom_staff(self) -> list[dict[str, Any]]:
        """Staff records of people who hold the POM role nowhere."""
        holders = {s for rows in self._roles.values() for s in rows}
        return [dict(s) for sid, s in self._staff.items() if sid not in holders]

    def add_staff(
        self,
        staff_id: int,
        first_name: str,
        last_name: str,
        *,
        status: str = "ACTIVE",
        gender: str | None = None,
        date_of_birth: str | None = None,
        thumbnail_id: int | None = None,
    ) -> dict[str, Any]:
        """Add or replace a staff record (names are stored upper case, as NOMIS does)."""
        record = _without_nulls(
            {
                "staffId": staff_id,
                "firstName": first_name.upper(),
                "lastName": last_name.upper(),
                "status": status,
                "gender": gender,
                "dateOfBirth": date_of_birth,
                "thumbnailId": thumbnail_id,
            }
        )
        self._staff[staff_id] = record
        for rows in self._roles.values():
            if staff_id in rows:
                rows[staff_id] = {
                    **rows[staff_id],
                    "firstName": record["firstName"],
                    "lastName": record["lastName"],
                }
        self.version += 1
        return dict(record)

    def set_staff_status(self, staff_id: int, status: str) -> None:
        """Make a staff member ACTIVE or INACT in `POST /api/staff`."""
        if status not in ("ACTIVE", "INACT"):
            raise ValueError(f"staff status is ACTIVE or INACT, got {status!r}")
        self._staff[staff_id]["status"] = status
        self.version += 1

    def set_pom_role(
        self,
        staff_id: int,
        prison: str,
        *,
        position: str = "PRO",
        schedule_type: str = "FT",
        hours_per_week: float = 37.5,
        from_date: str | None = None,
    ) -> dict[str, Any]:
        """Give a known staff member the POM role at `prison` (replacing any earlier row).

        The row has the fields of the real response (DOMAIN.md), no email: a
        POM's email is their NOMIS user's `primaryEmail`.
        """
        staff = self._staff[staff_id]
        row = _without_nulls(
            {
                "staffId": staff_id,
                "firstName": staff["firstName"],
                "lastName": staff["lastName"],
                "status": "ACTIVE",
                "thumbnailId": staff.get("thumbnailId"),
                "gender": staff.get("gender"),
                "dateOfBirth": staff.get("dateOfBirth"),
                "agencyId": prison,
                "agencyDescription": self.prison_name(prison),
                "fromDate": from_date or (self.today - dt.timedelta(days=365)).isoformat(),
                "position": position,
                "positionDescription": _POSITION_DESCRIPTIONS.get(position, position),
                "role": "POM",
                "roleDescription": "Prison Offender Manager",
                "scheduleType": schedule_type,
                "scheduleTypeDescription": _SCHEDULE_DESCRIPTIONS.get(schedule_type),
                "hoursPerWeek": hours_per_week,
            }
        )
        self._roles.setdefault(prison, {})[staff_id] = row
        self.version += 1
        return dict(row)

    def remove_pom_role(self, staff_id: int, prison: str) -> None:
        """Take the POM role at `prison` away from a staff member."""
        del self._roles[prison][staff_id]
        self.version += 1

    # -------------------------------------------------------------------- users
    def user(self, username: str) -> SandboxUser | None:
        """A NOMIS user by username (case-insensitive)."""
        return self._users.get(username.upper())

    def users(self) -> list[SandboxUser]:
        """Every NOMIS user, in creation order."""
        return list(self._users.values())

    def user_for_staff(self, staff_id: int) -> SandboxUser | None:
        """The general account linked to a staff id, if any."""
        return next((u for u in self._users.values() if u.staff_id == staff_id), None)

    def pom_user(self, prison: str, *, active: bool = True) -> SandboxUser:
        """The user account of a POM at `prison` (an ACTIVE one unless `active` is False)."""
        rows = self.active_poms(prison) if active else self.inactive_poms(prison)
        for row in rows:
            user = self.user_for_staff(row["staffId"])
            if user is not None:
                return user
        raise LookupError(f"no {'active' if active else 'inactive'} POM user at {prison}")

    def set_user(
        self,
        username: str,
        *,
        caseloads: Sequence[str] | None = None,
        staff_id: int | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        roles: Sequence[str] | None = None,
        email: str | None = None,
        active_caseload: str | None = None,
    ) -> SandboxUser:
        """Create or update a NOMIS user; arguments left None keep their current value."""
        key = username.upper()
        current = self._users.get(key) or SandboxUser(
            username=key, first_name=key.split("_")[0].title(), last_name="Sandbox"
        )
        changes: dict[str, Any] = {}
        if caseloads is not None:
            changes["caseloads"] = tuple(dict.fromkeys(caseloads))
            if active_caseload is None and current.active_caseload not in caseloads:
                changes["active_caseload"] = caseloads[0] if caseloads else None
        if active_caseload is not None:
            changes["active_caseload"] = active_caseload
        if staff_id is not None:
            changes["staff_id"] = staff_id
        if first_name is not None:
            changes["first_name"] = first_name
        if last_name is not None:
            changes["last_name"] = last_name
        if roles is not None:
            changes["roles"] = tuple(r.removeprefix("ROLE_") for r in roles)
        if email is not None:
            changes["email"] = email
        user = replace(current, **changes)
        self._users[key] = user
        self.version += 1
        return user

    # ---------------------------------------------------------------- movements
    def add_movement(self, movement: Mapping[str, Any]) -> None:
        """Record a movement (fields as prison-api names them; nulls dropped)."""
        self._movements.append(_without_nulls(movement))
        self.version += 1

    def movements(self) -> list[dict[str, Any]]:
        """Every movement, oldest first."""
        return [dict(m) for m in sorted(self._movements, key=_movement_order)]

    def movements_on(
        self, day: dt.date, *, since: dt.datetime | None = None
    ) -> list[dict[str, Any]]:
        """`GET /api/movements`: the latest movement per prisoner on `day`."""
        iso = day.isoformat()
        chosen = [
            m
            for m in self._movements
            if m["movementDate"] == iso
            and (since is None or dt.datetime.fromisoformat(m["createDateTime"]) >= since)
        ]
        return _latest_per_offender(chosen)

    def movements_for(
        self,
        prisoner_numbers: Iterable[str],
        movement_types: Iterable[str] = (),
        *,
        latest_only: bool = True,
    ) -> list[dict[str, Any]]:
        """`POST /api/movements/offenders`: movements of those prisoners, optionally by type."""
        wanted = set(prisoner_numbers)
        types = set(movement_types)
        chosen = [
            m
            for m in self._movements
            if m["offenderNo"] in wanted and (not types or m["movementType"] in types)
        ]
        if latest_only:
            return _latest_per_offender(chosen)
        return [dict(m) for m in sorted(chosen, key=_movement_order)]


def _movement_order(movement: Mapping[str, Any]) -> tuple[str, str]:
    return (movement["createDateTime"], movement["offenderNo"])


def _latest_per_offender(movements: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    latest: dict[str, Mapping[str, Any]] = {}
    for m in sorted(movements, key=_movement_order):
        latest[m["offenderNo"]] = m
    return [dict(m) for m in sorted(latest.values(), key=_movement_order)]
