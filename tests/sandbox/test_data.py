"""The generated sandbox world: deterministic, realistic, internally consistent."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest

from allocation_api.sandbox.data import (
    CIVIL_IMPRISONMENT_STATUSES,
    IN_SCOPE_LEGAL_STATUSES,
    PRISONER_NUMBER,
    SandboxData,
    age_on,
)
from allocation_api.sandbox.sentences import add_months

TODAY = dt.date(2026, 3, 31)  # a month end, to exercise clamped month arithmetic
PRISONS = ("LEI", "MDI", "BXI")
DATE_FIELDS = (
    "dateOfBirth",
    "receptionDate",
    "sentenceStartDate",
    "releaseDate",
    "confirmedReleaseDate",
    "conditionalReleaseDate",
    "automaticReleaseDate",
    "paroleEligibilityDate",
    "homeDetentionCurfewEligibilityDate",
    "tariffDate",
    "licenceExpiryDate",
    "sentenceExpiryDate",
    "topupSupervisionExpiryDate",
    "postRecallReleaseDate",
)
SENTENCE_DATES = DATE_FIELDS[2:]


@pytest.fixture(scope="module")
def world() -> SandboxData:
    return SandboxData.generate(seed=42, today=TODAY)


@pytest.fixture(scope="module")
def big_world() -> SandboxData:
    """5,000 prisoners in five prisons (incl. a Welsh open prison and an unknown code)."""
    return SandboxData.generate(
        seed=3, prisoners_per_prison=1000, prisons=("LEI", "MDI", "BXI", "UPI", "ZZZ"), today=TODAY
    )


def _snapshot(data: SandboxData) -> tuple[Any, ...]:
    return (
        data.prisoners(),
        [data.staff_member(s["staffId"]) for p in data.prison_codes for s in data.poms(p)],
        [data.poms(p) for p in data.prison_codes],
        data.non_pom_staff(),
        data.users(),
        data.movements(),
    )


def _dates(p: dict[str, Any]) -> dict[str, dt.date]:
    return {k: dt.date.fromisoformat(p[k]) for k in DATE_FIELDS if k in p}


# ----------------------------------------------------------------- determinism
def test_same_seed_and_day_give_identical_data(world: SandboxData) -> None:
    again = SandboxData.generate(seed=42, today=TODAY)
    assert _snapshot(again) == _snapshot(world)


def test_another_seed_gives_other_prisoners(world: SandboxData) -> None:
    other = SandboxData.generate(seed=43, today=TODAY)
    assert set(other.prisoner_numbers()) != set(world.prisoner_numbers())


def test_another_day_keeps_the_same_people_and_statuses(world: SandboxData) -> None:
    """The draw sequence does not depend on the date: only dates move."""
    later = SandboxData.generate(seed=42, today=TODAY + dt.timedelta(days=40))
    before = {p["prisonerNumber"]: p for p in world.prisoners()}
    after = {p["prisonerNumber"]: p for p in later.prisoners()}
    assert before.keys() == after.keys()
    for number, p in before.items():
        q = after[number]
        assert (p["lastName"], p["legalStatus"], p.get("imprisonmentStatus")) == (
            q["lastName"],
            q["legalStatus"],
            q.get("imprisonmentStatus"),
        )
        assert {k for k in SENTENCE_DATES if k in p} == {k for k in SENTENCE_DATES if k in q}


# ------------------------------------------------------------------ prisoners
def _check_prisoner(p: dict[str, Any], today: dt.date, prisons: tuple[str, ...]) -> None:
    number = p["prisonerNumber"]
    assert PRISONER_NUMBER.fullmatch(number)
    assert None not in p.values(), number
    assert isinstance(p["bookingId"], str)
    assert p["bookingId"].isdigit()
    assert p["restrictedPatient"] is False
    assert isinstance(p["alerts"], list)
    assert isinstance(p["recall"], bool)
    assert isinstance(p["indeterminateSentence"], bool)
    assert p["firstName"]
    assert p["lastName"]
    assert p["category"]
    d = _dates(p)  # also proves every date is yyyy-MM-dd
    assert age_on(d["dateOfBirth"], today) >= 15
    if p["prisonId"] == "OUT":
        assert p["status"] == "INACTIVE OUT"
        assert "cellLocation" not in p
    else:
        assert p["status"] == "ACTIVE IN"
        assert p["cellLocation"]

    def ordered(*keys: str) -> None:
        present = [d[k] for k in keys if k in d]
        assert present == sorted(present), (number, keys, present)

    ordered("sentenceStartDate", "homeDetentionCurfewEligibilityDate", "conditionalReleaseDate")
    ordered("sentenceStartDate", "paroleEligibilityDate", "conditionalReleaseDate")
    ordered("conditionalReleaseDate", "sentenceExpiryDate", "topupSupervisionExpiryDate")
    ordered("automaticReleaseDate", "sentenceExpiryDate")
    ordered("sentenceStartDate", "automaticReleaseDate")
    ordered("sentenceStartDate", "tariffDate")
    ordered("conditionalReleaseDate", "postRecallReleaseDate", "sentenceExpiryDate")
    if "licenceExpiryDate" in d:
        assert d["licenceExpiryDate"] == d["sentenceExpiryDate"]

    status = p["legalStatus"]
    imprisonment = p.get("imprisonmentStatus")
    if status == "SENTENCED":
        assert not p["indeterminateSentence"]
        assert not p["recall"]
        assert "sentenceStartDate" in d
        assert "releaseDate" in d
        assert "tariffDate" not in d
        release = min(d[k] for k in ("automaticReleaseDate", "conditionalReleaseDate") if k in d)
        assert d["releaseDate"] == release
        if p["prisonId"] != "OUT" and "paroleEligibilityDate" not in d:
            assert release > today, number  # people past their release date are out
    elif status == "INDETERMINATE_SENTENCE":
        assert p["indeterminateSentence"]
        assert not p["recall"]
        assert {"sentenceStartDate", "tariffDate"} <= d.keys()
        assert not {"conditionalReleaseDate", "automaticReleaseDate", "releaseDate"} & d.keys()
    elif status == "RECALL":
        assert p["recall"]
        assert "sentenceStartDate" in d
        if p["indeterminateSentence"]:
            assert "tariffDate" in d
            assert "postRecallReleaseDate" not in d
        else:
            assert d["releaseDate"] == d["postRecallReleaseDate"] > today
    elif status == "IMMIGRATION_DETAINEE":
        assert imprisonment == "DET"
        assert "releaseDate" not in d
    elif status in ("REMAND", "CONVICTED_UNSENTENCED"):
        assert imprisonment is not None
        assert not set(SENTENCE_DATES) & d.keys()
    elif status == "CIVIL_PRISONER":
        assert imprisonment in CIVIL_IMPRISONMENT_STATUSES
    else:
        assert status in ("DEAD", "UNKNOWN", "OTHER")
        assert not set(SENTENCE_DATES) & d.keys()
    if imprisonment is not None:
        assert p["imprisonmentStatusDescription"]


@pytest.mark.parametrize("which", ["world", "big_world"])
def test_every_prisoner_is_consistent(which: str, request: pytest.FixtureRequest) -> None:
    data: SandboxData = request.getfixturevalue(which)
    prisoners = data.prisoners()
    assert len({p["prisonerNumber"] for p in prisoners}) == len(prisoners)
    assert len({p["bookingId"] for p in prisoners}) == len(prisoners)
    for p in prisoners:
        _check_prisoner(p, data.today, data.prison_codes)


def test_big_world_has_the_requested_size_and_a_realistic_mix(big_world: SandboxData) -> None:
    held = [p for code in big_world.prison_codes for p in big_world.prisoners(code)]
    assert len(held) == 5000
    statuses = Counter(p["legalStatus"] for p in held)
    assert set(statuses) == {
        "SENTENCED",
        "INDETERMINATE_SENTENCE",
        "RECALL",
        "IMMIGRATION_DETAINEE",
        "REMAND",
        "CONVICTED_UNSENTENCED",
        "CIVIL_PRISONER",
        "DEAD",
        "UNKNOWN",
        "OTHER",
    }
    in_scope = sum(n for s, n in statuses.items() if s in IN_SCOPE_LEGAL_STATUSES)
    assert in_scope / len(held) >= 0.75
    under_18 = [p for p in held if big_world.age(p) < 18]
    assert 10 <= len(under_18) <= 250
    assert all(age_on(p["dateOfBirth"], TODAY) in (15, 16, 17) for p in under_18)
    features = Counter(k for p in held for k in p)
    for key in (
        "paroleEligibilityDate",
        "homeDetentionCurfewEligibilityDate",
        "topupSupervisionExpiryDate",
        "automaticReleaseDate",
        "confirmedReleaseDate",
        "postRecallReleaseDate",
        "tariffDate",
        "middleNames",
    ):
        assert features[key] > 5, key
    # a civil fine defaulter is SENTENCED with sentence dates (ineligible all the same)
    assert any(p.get("imprisonmentStatus") == "A_FINE" for p in held)
    assert big_world.prison_name("ZZZ") == "HMP Sandbox ZZZ"
    assert {p["category"] for p in big_world.prisoners("UPI") if big_world.age(p) >= 18} <= {
        "D",
        "U",
    }


def test_prison_lists_are_ordered_by_prisoner_number(world: SandboxData) -> None:
    for code in PRISONS:
        numbers = world.prisoner_numbers(code)
        assert numbers == sorted(numbers)
        assert len(numbers) == 300


# -------------------------------------------------------------- staff and users
def test_poms_per_prison_and_their_staff_records(world: SandboxData) -> None:
    all_ids: list[int] = []
    for code in PRISONS:
        poms = world.poms(code)
        assert len(poms) == 12
        assert {p["position"] for p in poms} == {"PRO", "PO"}
        assert all(p["role"] == "POM" and p["agencyId"] == code for p in poms)
        assert all(p["scheduleType"] in ("FT", "PT") and p["hoursPerWeek"] > 0 for p in poms)
        assert world.inactive_poms(code), code
        all_ids += [p["staffId"] for p in poms]
        for row in poms:
            staff = world.staff_member(row["staffId"])
            assert staff is not None
            assert (staff["firstName"], staff["lastName"]) == (row["firstName"], row["lastName"])
    multi = [s for s, n in Counter(all_ids).items() if n == 2]
    assert len(multi) == 2
    assert all(world.pom_prisons(s) == ["LEI", "MDI"] for s in multi)
    assert all(isinstance(s, int) and s > 485_000 for s in all_ids)


def test_some_staff_are_not_poms_anywhere(world: SandboxData) -> None:
    others = world.non_pom_staff()
    assert len(others) >= 3
    assert all(world.pom_prisons(s["staffId"]) == [] for s in others)


def test_users_agree_with_roles(world: SandboxData) -> None:
    for code in PRISONS:
        spo = world.user(f"SPO_{code}")
        assert spo is not None
        assert spo.caseloads == (code,)
        assert "ALLOC_MGR" in spo.roles
        for row in world.poms(code):
            user = world.user_for_staff(row["staffId"])
            assert user is not None
            assert user.username == user.username.upper()
            assert set(user.caseloads) == set(world.pom_prisons(row["staffId"]))
    multi = world.user("spo_multi")  # lookups are case-insensitive
    assert multi is not None
    assert multi.caseloads == PRISONS
    assert world.pom_user("LEI").staff_id in world.pom_staff_ids("LEI")


# ------------------------------------------------------------------- movements
def test_movements_match_the_prisoners(world: SandboxData) -> None:
    movements = world.movements()
    assert {m["movementType"] for m in movements} == {"ADM", "TRN", "REL", "CRT"}
    for m in movements:
        prisoner = world.prisoner(m["offenderNo"])
        assert prisoner is not None
        assert TODAY - dt.timedelta(days=7) < dt.date.fromisoformat(m["movementDate"]) <= TODAY
        if m["movementType"] == "REL":
            assert m["directionCode"] == "OUT"
            assert m["toAgency"] == "OUT"
            assert prisoner["prisonId"] == "OUT"
            assert prisoner["lastPrisonId"] == m["fromAgency"]
        if m["movementType"] in ("ADM", "TRN"):
            assert prisoner["prisonId"] == m["toAgency"]
            assert prisoner["receptionDate"] == m["movementDate"]


def test_latest_movement_queries(world: SandboxData) -> None:
    court = [m for m in world.movements() if m["movementType"] == "CRT"]
    number = court[0]["offenderNo"]
    everything = world.movements_for([number], latest_only=False)
    assert [m["directionCode"] for m in everything] == ["OUT", "IN"]
    assert world.movements_for([number]) == everything[-1:]
    assert world.movements_for([number], ["ADM"]) == []
    day = dt.date.fromisoformat(court[0]["movementDate"])
    on_day = world.movements_on(day)
    assert len({m["offenderNo"] for m in on_day}) == len(on_day)
    assert everything[-1] in on_day


# -------------------------------------------------------------------- mutation
def test_mutations_keep_the_json_cache_and_prison_index_in_step() -> None:
    data = SandboxData.generate(seed=5, prisoners_per_prison=20, today=TODAY)
    number = data.prisoner_numbers("LEI")[0]
    before = data.prisoner_json(number)
    assert before is not None
    updated = data.update_prisoner(number, prisonId="MDI", releaseDate=None, bookingId=123)
    assert "releaseDate" not in updated
    assert updated["bookingId"] == "123"
    assert data.prisoner_json(number) != before
    assert b'"prisonId":"MDI"' in (data.prisoner_json(number) or b"")
    assert number not in data.prisoner_numbers("LEI")
    assert data.prisoner_numbers("MDI") == sorted([*data.prisoner_numbers("MDI")])
    assert number in data.prisoner_numbers("MDI")
    data.remove_prisoner(number)
    assert data.prisoner(number) is None
    assert data.prisoner_json(number) is None
    assert number not in data.prisoner_numbers("MDI")
    with pytest.raises(KeyError):
        data.remove_prisoner(number)
    with pytest.raises(ValueError, match="not a prisoner number"):
        data.set_prisoner({"prisonerNumber": "1234567"})


def test_readers_return_copies() -> None:
    data = SandboxData.generate(seed=5, prisoners_per_prison=20, today=TODAY)
    number = data.prisoner_numbers("LEI")[0]
    copy = data.prisoner(number)
    assert copy is not None
    copy["alerts"].append({"alertCode": "XA"})
    copy["lastName"] = "CHANGED"
    assert data.prisoner(number) == data.prisoners("LEI")[0]
    assert b"CHANGED" not in (data.prisoner_json(number) or b"")


def test_staff_and_user_mutations() -> None:
    data = SandboxData.generate(seed=5, prisoners_per_prison=20, today=TODAY)
    staff_id = data.pom_staff_ids("BXI")[0]
    data.set_staff_status(staff_id, "INACT")
    assert data.staff_member(staff_id) == {**(data.staff_member(staff_id) or {}), "status": "INACT"}
    with pytest.raises(ValueError, match="ACTIVE or INACT"):
        data.set_staff_status(staff_id, "GONE")
    newcomer = data.non_pom_staff()[0]["staffId"]
    data.set_pom_role(newcomer, "BXI", position="PO", schedule_type="PT", hours_per_week=18.5)
    assert newcomer in data.pom_staff_ids("BXI")
    data.remove_pom_role(newcomer, "BXI")
    assert newcomer not in data.pom_staff_ids("BXI")
    user = data.set_user("new_user", caseloads=["MDI", "LEI"], roles=["ROLE_ALLOC_MGR"])
    assert (user.username, user.caseloads, user.active_caseload, user.roles) == (
        "NEW_USER",
        ("MDI", "LEI"),
        "MDI",
        ("ALLOC_MGR",),
    )
    assert data.set_user("NEW_USER", staff_id=1).caseloads == ("MDI", "LEI")


def test_sample_prisoners_is_reproducible(world: SandboxData) -> None:
    def recalled(p: Any) -> bool:
        return bool(p["recall"])

    first = world.sample_prisoners("LEI", recalled, k=3, seed=1)
    assert len(first) == 3
    assert all(p["recall"] for p in first)
    assert world.sample_prisoners("LEI", recalled, k=3, seed=1) == first


def test_bad_prison_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="three capital letters"):
        SandboxData.generate(prisons=("Leeds",))


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(dt.date(2024, 10, 31), -8) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2023, 1, 31), 1) == dt.date(2023, 2, 28)
    assert add_months(dt.date(2023, 12, 15), 1) == dt.date(2024, 1, 15)
