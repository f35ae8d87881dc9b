"""Seeded generation of the sandbox world (called by `SandboxData.generate`).

Kept apart from the container so that `data.py` reads as the API tests use
and this file reads as "what a plausible prison looks like". Every choice is
drawn from the one seeded `random.Random` in a fixed order, so a seed and a
day fully determine the world; generating 50,000 prisoners takes about a
second because each prisoner is a handful of draws and one dict.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from allocation_api.sandbox.reference import (
    COURTS,
    FEMALE_FIRST_NAMES,
    KNOWN_PRISONS,
    MALE_FIRST_NAMES,
    SURNAMES,
    PrisonInfo,
)
from allocation_api.sandbox.sentences import add_months, draw_custody, draw_legal_status

if TYPE_CHECKING:
    from allocation_api.sandbox.data import SandboxData

FIRST_STAFF_ID = 485_001
"""Sandbox staff ids count up from here (real NOMIS staff ids are of this size)."""

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MALE_UPPER = tuple(n.upper() for n in MALE_FIRST_NAMES)  # NOMIS holds names upper case
_FEMALE_UPPER = tuple(n.upper() for n in FEMALE_FIRST_NAMES)
_SURNAMES_UPPER = tuple(n.upper() for n in SURNAMES)
_NUMBER_PREFIXES = "AAAAGGGGGB"  # real prisoner numbers mostly start with A or G
_WINGS = "ABCDEFGH"
_UNSENTENCED = {"REMAND", "CONVICTED_UNSENTENCED", "CIVIL_PRISONER", "UNKNOWN", "OTHER", "DEAD"}
_ALERTS = (("H", "HA"), ("X", "XA"), ("P", "PEEP"), ("V", "VOP"), ("R", "RSS"))
_MOVEMENT_DESCRIPTIONS = {
    "ADM": "Admission",
    "TRN": "Transfer",
    "REL": "Release",
    "CRT": "Court",
    "TAP": "Temporary Absence",
}
_CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "local": (("A", "B", "C", "D"), (0.01, 0.36, 0.96, 1.0)),
    "training": (("B", "C", "D"), (0.03, 0.95, 1.0)),
    "high_security": (("A", "B"), (0.12, 1.0)),
    "open": (("D",), (1.0,)),
    "yoi": (("I", "J"), (0.9, 1.0)),
}
_FEMALE_CATEGORIES: dict[bool, tuple[tuple[str, ...], tuple[float, ...]]] = {
    False: (("Q", "R", "T"), (0.04, 0.93, 1.0)),
    True: (("T",), (1.0,)),
}


def generate_into(
    data: SandboxData,
    rng: random.Random,
    prisons: Sequence[PrisonInfo],
    *,
    prisoners_per_prison: int,
    poms_per_prison: int,
) -> None:
    """Fill `data` with prisoners, movements, staff and users for `prisons`."""
    people = _People(rng, data.today)
    elsewhere = [p for p in KNOWN_PRISONS.values() if p.code not in data.prison_codes]
    for info in prisons:
        _populate_prison(data, people, info, prisons, elsewhere, prisoners_per_prison)
    _staff_and_users(data, rng, prisons, poms_per_prison)


class _People:
    """Draws unique prisoner numbers, booking ids and whole prisoner records."""

    def __init__(self, rng: random.Random, today: dt.date) -> None:
        self.rng = rng
        self.today = today
        self._numbers: set[str] = set()
        self._booking = 1_100_000
        self._birthdays: dict[int, dt.date] = {}

    def number(self) -> str:
        rng = self.rng
        while True:
            n = rng.getrandbits(32)
            candidate = (
                f"{_NUMBER_PREFIXES[n % 10]}{(n >> 4) % 10000:04d}"
                f"{_LETTERS[(n >> 18) % 26]}{_LETTERS[(n >> 24) % 26]}"
            )
            if candidate not in self._numbers:
                self._numbers.add(candidate)
                return candidate

    def booking_id(self) -> str:
        self._booking += 1 + self.rng.getrandbits(5)
        return str(self._booking)

    def prisoner(
        self,
        info: PrisonInfo,
        *,
        prison_id: str | None = None,
        released_on: dt.date | None = None,
    ) -> dict[str, Any]:
        """One prisoner held in (or just released from) `info`'s prison."""
        r, today = self.rng.random, self.today
        number, booking = self.number(), self.booking_id()
        given = _FEMALE_UPPER if info.female else _MALE_UPPER
        first, middle = given[int(r() * len(given))], given[int(r() * len(given))]
        last = _SURNAMES_UPPER[int(r() * len(_SURNAMES_UPPER))]
        has_middle, age_draw, birthday_draw, category_draw, cell_draw = r(), r(), r(), r(), r()
        reception_draw, alert_draw = r(), r()
        if age_draw < 0.015 or info.estate == "yoi":
            age = 15 + int(birthday_draw * 3)
        else:
            age = 18 + int(((age_draw - 0.015) / 0.985) ** 1.7 * 58)
        dob = self._birthday(age) - dt.timedelta(days=1 + int(birthday_draw * 363))
        legal_status = "SENTENCED" if released_on else draw_legal_status(self.rng)
        custody = draw_custody(self.rng, today, legal_status, released_on=released_on)
        held_in = prison_id or info.code
        out = released_on is not None
        # built without None values: upstreams leave null fields out entirely
        record: dict[str, Any] = {
            "prisonerNumber": number,
            "bookingId": booking,
            "firstName": first,
        }
        if has_middle < 0.55:
            record["middleNames"] = middle
        record["lastName"] = last
        record["dateOfBirth"] = dob.isoformat()
        record["gender"] = "Female" if info.female else "Male"
        record["status"] = "INACTIVE OUT" if out else "ACTIVE IN"
        record["prisonId"] = "OUT" if out else held_in
        record["lastPrisonId"] = held_in
        record["prisonName"] = "Outside" if out else _name(held_in)
        if not out:
            record["cellLocation"] = _cell(cell_draw)
        record["legalStatus"] = legal_status
        record.update(custody)  # imprisonment status, recall/ISP flags, sentence dates
        record["category"] = _category(info, legal_status, age, category_draw)
        record["receptionDate"] = _reception(today, custody, reception_draw).isoformat()
        record["restrictedPatient"] = False
        record["alerts"] = _alerts(alert_draw)
        return record

    def _birthday(self, age: int) -> dt.date:
        """Today's date `age` years ago (memoised: there are only a few dozen ages)."""
        day = self._birthdays.get(age)
        if day is None:
            day = self._birthdays[age] = add_months(self.today, -12 * age)
        return day


def _name(code: str) -> str:
    info = KNOWN_PRISONS.get(code)
    return info.name if info else f"HMP Sandbox {code}"


def _cell(draw: float) -> str:
    slot = int(draw * 8 * 4 * 40)
    return f"{_WINGS[slot // 160]}-{slot // 40 % 4 + 1}-{slot % 40 + 1:03d}"


def _category(info: PrisonInfo, legal_status: str, age: int, draw: float) -> str:
    if age < 18:
        return "I"
    if legal_status in _UNSENTENCED:
        return "U"
    codes, cumulative = (
        _FEMALE_CATEGORIES[info.estate == "open"] if info.female else _CATEGORIES[info.estate]
    )
    for code, edge in zip(codes, cumulative, strict=True):
        if draw < edge:
            return code
    return codes[-1]


def _reception(today: dt.date, custody: dict[str, Any], draw: float) -> dt.date:
    started = custody.get("sentenceStartDate")
    if started is None:
        return today - dt.timedelta(days=int(draw * 365))
    ssd = dt.date.fromisoformat(started)
    span = (today - ssd).days + 120  # remanded here up to four months before sentence
    return min(today, ssd - dt.timedelta(days=120) + dt.timedelta(days=int(draw * span)))


def _alerts(draw: float) -> list[dict[str, Any]]:
    if draw >= 0.06:
        return []
    alert_type, code = _ALERTS[int(draw / 0.06 * len(_ALERTS))]
    return [{"alertType": alert_type, "alertCode": code, "active": True, "expired": False}]


def _populate_prison(
    data: SandboxData,
    people: _People,
    info: PrisonInfo,
    prisons: Sequence[PrisonInfo],
    elsewhere: Sequence[PrisonInfo],
    count: int,
) -> None:
    """`count` prisoners held at `info`, plus last week's movements in and out of it.

    Recent arrivals (admissions, transfers in) get their reception date from
    the movement; released prisoners and one transferred away are generated
    too, so release and transfer handling has real cases to find.
    """
    rng, today = people.rng, data.today
    held = [people.prisoner(info) for _ in range(count)]
    admissions, transfers, court = max(1, count // 100), max(1, count // 200), max(1, count // 200)
    others = [p for p in prisons if p.code != info.code] or list(elsewhere)
    courts = tuple(COURTS)
    for i, record in enumerate(held[: admissions + transfers + court]):
        when = _moment(rng, today)
        number = record["prisonerNumber"]
        if i < admissions:
            source = courts[int(rng.random() * len(courts))]
            data.add_movement(_movement(data, number, source, info.code, "ADM", "IN", when))
            record["receptionDate"] = when.date().isoformat()
        elif i < admissions + transfers and others:
            source = others[int(rng.random() * len(others))].code
            data.add_movement(_movement(data, number, source, info.code, "TRN", "IN", when))
            record["receptionDate"] = when.date().isoformat()
        else:
            venue = courts[int(rng.random() * len(courts))]
            back = when + dt.timedelta(hours=6)
            data.add_movement(_movement(data, number, info.code, venue, "CRT", "OUT", when))
            data.add_movement(_movement(data, number, venue, info.code, "CRT", "IN", back))
    for _ in range(max(1, count // 100)):
        when = _moment(rng, today)
        record = people.prisoner(info, released_on=when.date())
        held.append(record)
        mv = _movement(data, record["prisonerNumber"], info.code, "OUT", "REL", "OUT", when)
        data.add_movement(mv)
    if elsewhere:
        destination = elsewhere[int(rng.random() * len(elsewhere))]
        when = _moment(rng, today)
        record = people.prisoner(info, prison_id=destination.code)
        record["receptionDate"] = when.date().isoformat()
        held.append(record)
        mv = _movement(
            data, record["prisonerNumber"], info.code, destination.code, "TRN", "OUT", when
        )
        data.add_movement(mv)
    data.load_prisoners(held)


def _moment(rng: random.Random, today: dt.date) -> dt.datetime:
    """A daytime moment within the last week (movements happen 07:00-19:00)."""
    day = today - dt.timedelta(days=int(rng.random() * 7))
    seconds = 7 * 3600 + int(rng.random() * 12 * 3600)
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)


def _movement(
    data: SandboxData,
    number: str,
    from_agency: str,
    to_agency: str,
    movement_type: str,
    direction: str,
    when: dt.datetime,
) -> dict[str, Any]:
    return {
        "offenderNo": number,
        "createDateTime": (when + dt.timedelta(seconds=37)).isoformat(timespec="seconds"),
        "fromAgency": from_agency,
        "fromAgencyDescription": data.prison_name(from_agency),
        "toAgency": to_agency,
        "toAgencyDescription": "Outside" if to_agency == "OUT" else data.prison_name(to_agency),
        "movementType": movement_type,
        "movementTypeDescription": _MOVEMENT_DESCRIPTIONS[movement_type],
        "directionCode": direction,
        "movementDate": when.date().isoformat(),
        "movementTime": when.time().isoformat(timespec="seconds"),
    }


# ----------------------------------------------------------------------- staff
def _staff_and_users(
    data: SandboxData, rng: random.Random, prisons: Sequence[PrisonInfo], poms_per_prison: int
) -> None:
    ids = itertools.count(FIRST_STAFF_ID)
    usernames: set[str] = set()
    holders: dict[int, list[str]] = {}
    first_prison_poms: list[int] = []
    for index, info in enumerate(prisons):
        shared = first_prison_poms[:2] if index == 1 and poms_per_prison >= 3 else []
        own: list[int] = []
        for _ in range(poms_per_prison - len(shared)):
            staff_id = next(ids)
            first, last = _staff_person(data, rng, staff_id)
            _give_pom_role(data, rng, staff_id, info.code, first, last)
            own.append(staff_id)
        for staff_id in shared:
            staff = data.staff_member(staff_id) or {}
            first, last = staff["firstName"].title(), staff["lastName"].title()
            _give_pom_role(data, rng, staff_id, info.code, first, last)
        if index == 0:
            first_prison_poms = own
        if own:  # one stale role per prison: listed as a POM, but INACT in the staff table
            data.set_staff_status(own[-1], "INACT")
        for staff_id in own + shared:
            holders.setdefault(staff_id, []).append(info.code)
        spo_id = next(ids)
        first, last = _staff_person(data, rng, spo_id)
        _add_user(data, f"SPO_{info.code}", spo_id, first, last, [info.code], ["ALLOC_MGR"])
        usernames.add(f"SPO_{info.code}")
        _staff_person(data, rng, next(ids))  # an officer with no POM role and no account
    for staff_id, caseloads in holders.items():
        staff = data.staff_member(staff_id) or {}
        first, last = staff["firstName"].title(), staff["lastName"].title()
        username = _username(first, last, usernames)
        _add_user(data, username, staff_id, first, last, caseloads, ["ALLOC_CASE_MGR", "POM"])
    multi_id = next(ids)
    first, last = _staff_person(data, rng, multi_id)
    codes = [p.code for p in prisons]
    _add_user(data, "SPO_MULTI", multi_id, first, last, codes, ["ALLOC_MGR"])


def _staff_person(data: SandboxData, rng: random.Random, staff_id: int) -> tuple[str, str]:
    female = rng.random() < 0.55
    first = rng.choice(FEMALE_FIRST_NAMES if female else MALE_FIRST_NAMES)
    last = rng.choice(SURNAMES)
    age_draw, thumb_draw = rng.random(), rng.random()
    dob = add_months(data.today, -12 * (24 + int(age_draw * 38))) - dt.timedelta(
        days=int(thumb_draw * 360)
    )
    data.add_staff(
        staff_id,
        first,
        last,
        gender="F" if female else "M",
        date_of_birth=dob.isoformat(),
        thumbnail_id=900_000 + staff_id if thumb_draw < 0.7 else None,
    )
    return first, last


def _give_pom_role(
    data: SandboxData, rng: random.Random, staff_id: int, prison: str, first: str, last: str
) -> None:
    # Four draws, as when the role row carried an email: every seed's data stays as it was.
    position_draw, schedule_draw, _, since_draw = (rng.random() for _ in range(4))
    if schedule_draw < 0.7:
        schedule, hours = "FT", 37.5 if schedule_draw < 0.6 else 37.0
    else:
        schedule, hours = "PT", (18.5, 22.2, 29.6, 30.0)[int((schedule_draw - 0.7) / 0.3 * 4)]
    data.set_pom_role(
        staff_id,
        prison,
        position="PRO" if position_draw < 0.6 else "PO",
        schedule_type=schedule,
        hours_per_week=hours,
        from_date=(data.today - dt.timedelta(days=30 + int(since_draw * 3000))).isoformat(),
    )


def _email(first: str, last: str) -> str:
    return f"{_clean(first)}.{_clean(last)}@justice.gov.uk".lower()


def _clean(name: str) -> str:
    return re.sub(r"[^A-Za-z]", "", name)


def _username(first: str, last: str, taken: set[str]) -> str:
    base = f"{first[0]}{_clean(last)}".upper()
    for suffix in _suffixes():
        candidate = f"{base}{suffix}_GEN"
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover


def _suffixes() -> Iterator[str]:
    yield ""
    for n in itertools.count(2):
        yield str(n)


def _add_user(
    data: SandboxData,
    username: str,
    staff_id: int,
    first: str,
    last: str,
    caseloads: Sequence[str],
    roles: Sequence[str],
) -> None:
    email = _email(first, last)
    data.set_user(
        username,
        caseloads=caseloads,
        staff_id=staff_id,
        first_name=first,
        last_name=last,
        roles=roles,
        email=email,
    )
