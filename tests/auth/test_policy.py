"""The access policy as a truth table: each kind of caller x each decision.

The fixed scene: the caller's caseloads are {LEI}; the caller's own staff
id is 1001; prisoner P is at LEI with primary POM 1001 and co-working POM
1002; another prisoner Q is at LEI with POM 2002; MDI is outside the
caseloads.
"""

from __future__ import annotations

import pytest

from allocation_api.auth.identity import (
    ROLE_ALLOC_CASE_MGR,
    ROLE_ALLOC_MGR,
    ROLE_VIEW_POM_ALLOCATIONS,
    Identity,
)
from allocation_api.auth.policy import (
    can_mutate,
    can_read_pom,
    can_read_prison,
    can_read_prisoner,
)

CASELOADS = frozenset({"LEI"})
OWN_STAFF_ID = 1001


def _user(*roles: str) -> Identity:
    return Identity(
        subject="JSMITH_GEN",
        username="jsmith_gen",
        display_name="John Smith",
        roles=frozenset(roles),
        client_id="allocation-manager",
        auth_source="nomis",
        token_id="t1",
    )


def _client(*roles: str) -> Identity:
    return Identity(
        subject="other-service",
        username=None,
        display_name=None,
        roles=frozenset(roles),
        client_id="other-service",
        auth_source="none",
        token_id="t2",
    )


CALLERS: dict[str, Identity] = {
    "spo": _user(ROLE_ALLOC_MGR),
    "pom": _user(ROLE_ALLOC_CASE_MGR),
    "spo+pom": _user(ROLE_ALLOC_MGR, ROLE_ALLOC_CASE_MGR),
    "service": _client(ROLE_VIEW_POM_ALLOCATIONS),
    "user with service role": _user(ROLE_VIEW_POM_ALLOCATIONS),
    "client with spo role": _client(ROLE_ALLOC_MGR),
    "client with pom role": _client(ROLE_ALLOC_CASE_MGR),
    "user without roles": _user(),
    "user with unknown role": _user("ROLE_PRISON", "ROLE_GLOBAL_SEARCH"),
    "client without roles": _client(),
}


def _decisions(identity: Identity) -> dict[str, bool]:
    """Every decision of the scene, by name."""
    return {
        "read prison LEI": can_read_prison(identity, CASELOADS, "LEI"),
        "read prison MDI": can_read_prison(identity, CASELOADS, "MDI"),
        "read own prisoner at LEI": can_read_prisoner(
            identity,
            CASELOADS,
            "LEI",
            own_staff_id=OWN_STAFF_ID,
            prisoner_pom_staff_ids=(1001, 1002),
        ),
        "read co-worked prisoner at LEI": can_read_prisoner(
            identity,
            CASELOADS,
            "LEI",
            own_staff_id=1002,
            prisoner_pom_staff_ids=(1001, 1002),
        ),
        "read other prisoner at LEI": can_read_prisoner(
            identity,
            CASELOADS,
            "LEI",
            own_staff_id=OWN_STAFF_ID,
            prisoner_pom_staff_ids=(2002,),
        ),
        "read own prisoner now at MDI": can_read_prisoner(
            identity,
            CASELOADS,
            "MDI",
            own_staff_id=OWN_STAFF_ID,
            prisoner_pom_staff_ids=(1001,),
        ),
        "read prisoner at unknown prison": can_read_prisoner(
            identity, CASELOADS, None, own_staff_id=OWN_STAFF_ID, prisoner_pom_staff_ids=(1001,)
        ),
        "read own prisoner without staff id": can_read_prisoner(
            identity, CASELOADS, "LEI", own_staff_id=None, prisoner_pom_staff_ids=(1001,)
        ),
        "read self at LEI": can_read_pom(
            identity, CASELOADS, "LEI", OWN_STAFF_ID, own_staff_id=OWN_STAFF_ID
        ),
        "read other POM at LEI": can_read_pom(
            identity, CASELOADS, "LEI", 2002, own_staff_id=OWN_STAFF_ID
        ),
        "read self at MDI": can_read_pom(
            identity, CASELOADS, "MDI", OWN_STAFF_ID, own_staff_id=OWN_STAFF_ID
        ),
        "read other POM at MDI": can_read_pom(
            identity, CASELOADS, "MDI", 2002, own_staff_id=OWN_STAFF_ID
        ),
        "mutate at LEI": can_mutate(identity, CASELOADS, "LEI"),
        "mutate at MDI": can_mutate(identity, CASELOADS, "MDI"),
    }


def _allowed(*names: str) -> frozenset[str]:
    return frozenset(names)


EVERY_READ = _allowed(
    "read prison LEI",
    "read prison MDI",
    "read own prisoner at LEI",
    "read co-worked prisoner at LEI",
    "read other prisoner at LEI",
    "read own prisoner now at MDI",
    "read prisoner at unknown prison",
    "read own prisoner without staff id",
    "read self at LEI",
    "read other POM at LEI",
    "read self at MDI",
    "read other POM at MDI",
)
SPO = _allowed(
    "read prison LEI",
    "read own prisoner at LEI",
    "read co-worked prisoner at LEI",
    "read other prisoner at LEI",
    "read own prisoner without staff id",
    "read self at LEI",
    "read other POM at LEI",
    "mutate at LEI",
)
POM = _allowed(
    "read own prisoner at LEI",
    "read co-worked prisoner at LEI",
    "read self at LEI",
)

EXPECTED: dict[str, frozenset[str]] = {
    "spo": SPO,
    "pom": POM,
    "spo+pom": SPO | POM,
    "service": EVERY_READ,
    "user with service role": frozenset(),
    "client with spo role": frozenset(),
    "client with pom role": frozenset(),
    "user without roles": frozenset(),
    "user with unknown role": frozenset(),
    "client without roles": frozenset(),
}


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_truth_table(caller: str) -> None:
    decisions = _decisions(CALLERS[caller])

    allowed = frozenset(name for name, verdict in decisions.items() if verdict)

    assert allowed == EXPECTED[caller]


def test_every_decision_but_one_is_granted_to_someone_and_refused_to_someone() -> None:
    """Guards the table itself: a decision nobody gets is a decision not tested.

    The one exception is by design: nobody may change anything at a prison
    outside their caseloads.
    """
    table = {caller: _decisions(identity) for caller, identity in CALLERS.items()}
    names = next(iter(table.values())).keys()

    constant = {name for name in names if len({row[name] for row in table.values()}) == 1}

    assert constant == {"mutate at MDI"}
    assert not any(row["mutate at MDI"] for row in table.values())


def test_empty_caseloads_deny_every_user_grant() -> None:
    spo = CALLERS["spo"]

    assert not can_read_prison(spo, frozenset(), "LEI")
    assert not can_mutate(spo, frozenset(), "LEI")
    assert not can_read_pom(spo, frozenset(), "LEI", 2002, own_staff_id=OWN_STAFF_ID)
