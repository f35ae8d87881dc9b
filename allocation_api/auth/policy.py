"""Who may see and change what: the access rules of docs/DOMAIN.md "Who uses it".

Pure functions of an `Identity`, the caller's NOMIS caseloads and the facts
of the thing asked for; no I/O, so resolvers fetch the facts and ask here,
and the whole policy is testable as a truth table.

Three kinds of caller:
- SPO / Head of Offender Management (`ROLE_ALLOC_MGR`, a NOMIS user): every
  prisoner and POM in the prisons of their caseload; the only caller who may
  change anything.
- POM (`ROLE_ALLOC_CASE_MGR`, a NOMIS user): their own cases and themselves.
- Other services (`ROLE_VIEW_POM_ALLOCATIONS` on a client-credentials token):
  read everything, change nothing.

Rules shared by every decision:
- Deny by default: a caller matching no grant below (unknown roles, no
  roles) is refused.
- A user only ever sees prisons in their NOMIS caseloads, whatever the role.
- Roles granted to a user are user grants, and client grants need a client
  token: a person holding `ROLE_VIEW_POM_ALLOCATIONS` does not escape the
  caseload rule, and a client holding `ROLE_ALLOC_MGR` has no caseloads and
  may not act as an SPO.
- Several roles combine as the union of their grants.
- Prisoner data is decided on the prisoner's current prison (live NOMIS; the
  prison of their allocation only when NOMIS cannot say), however the data is
  reached: a prisoner transferred away is no longer readable at the old
  prison, even through a co-working POM who stayed there.
- A refusal looks the same whether the thing asked for exists elsewhere or
  not at all, and names no prison the caller may not see.
"""

from __future__ import annotations

from collections.abc import Collection

from allocation_api.auth.identity import (
    ROLE_ALLOC_CASE_MGR,
    ROLE_ALLOC_MGR,
    ROLE_VIEW_POM_ALLOCATIONS,
    Identity,
)


def _is_service_reader(identity: Identity) -> bool:
    return identity.is_client and identity.has_role(ROLE_VIEW_POM_ALLOCATIONS)


def _is_spo_at(identity: Identity, caseloads: frozenset[str], prison_code: str | None) -> bool:
    return (
        identity.is_user
        and identity.has_role(ROLE_ALLOC_MGR)
        and prison_code is not None
        and prison_code in caseloads
    )


def _is_pom_at(identity: Identity, caseloads: frozenset[str], prison_code: str | None) -> bool:
    return (
        identity.is_user
        and identity.has_role(ROLE_ALLOC_CASE_MGR)
        and prison_code is not None
        and prison_code in caseloads
    )


def reads_every_prisoner(identity: Identity) -> bool:
    """Does the caller see every prisoner, so that no prisoner's facts need reading?

    Only the reading services: every other grant depends on where the prisoner is.
    """
    return _is_service_reader(identity)


def may_read_some_prisoner(identity: Identity, caseloads: frozenset[str]) -> bool:
    """Could any prisoner at all be shown to the caller?

    False for a caller with no read grant (no relevant role, a client token
    without VIEW_POM_ALLOCATIONS) or a user with no caseloads: such a caller is
    refused before anything is looked up, so the refusal is the same whether
    the prisoner exists or not.
    """
    if _is_service_reader(identity):
        return True
    return has_prisoner_read_role(identity) and bool(caseloads)


def has_prisoner_read_role(identity: Identity) -> bool:
    """Does the caller hold any grant that can show a prisoner (before caseloads count)?"""
    return _is_service_reader(identity) or (
        identity.is_user
        and (identity.has_role(ROLE_ALLOC_MGR) or identity.has_role(ROLE_ALLOC_CASE_MGR))
    )


def current_prison(live_prison: str | None, recorded_prison: str | None) -> str | None:
    """The prison a prisoner's data is decided on.

    NOMIS's current prison when it gives one (a transfer or a release moves
    access at once); otherwise (NOMIS down, no record, a record without a
    prison) the prison of the allocation we hold, or None (nobody's caseload).
    """
    return live_prison or recorded_prison


def can_read_prison(identity: Identity, caseloads: frozenset[str], prison_code: str) -> bool:
    """May the caller list the prisoners (and POMs) of a prison?

    - SPO: yes for a prison in their caseloads.
    - Service client with VIEW_POM_ALLOCATIONS: yes, every prison.
    - POM: no. A POM sees their own caseload and the prisoners in it, not the
      whole prison; their cases are reached through `can_read_prisoner`.
    """
    return _is_service_reader(identity) or _is_spo_at(identity, caseloads, prison_code)


def can_read_prisoner(
    identity: Identity,
    caseloads: frozenset[str],
    prisoner_prison_code: str | None,
    *,
    own_staff_id: int | None,
    prisoner_pom_staff_ids: Collection[int],
) -> bool:
    """May the caller see one prisoner (with their allocation and case details)?

    - SPO: yes when the prisoner's prison is in their caseloads.
    - POM: yes when their own staff id is the prisoner's primary or
      co-working POM, and the prisoner's prison is in their caseloads (a
      co-working allocation survives a transfer, but the caseload rule still
      holds). An unknown prison (None) is refused.
    - Anyone else, or a prisoner nobody can place (None): refused, so an
      unknown number and a prisoner held elsewhere get the same answer.
    - Service client with VIEW_POM_ALLOCATIONS: yes (it exists to ask who a
      prisoner's POM is).
    """
    if _is_service_reader(identity) or _is_spo_at(identity, caseloads, prisoner_prison_code):
        return True
    return (
        _is_pom_at(identity, caseloads, prisoner_prison_code)
        and own_staff_id is not None
        and own_staff_id in prisoner_pom_staff_ids
    )


def can_read_pom(
    identity: Identity,
    caseloads: frozenset[str],
    prison_code: str,
    staff_id: int,
    *,
    own_staff_id: int | None,
) -> bool:
    """May the caller see a POM at a prison (details, caseload, counts)?

    - SPO: yes for any POM at a prison in their caseloads (they allocate
      between them).
    - POM: only themselves, at a prison in their caseloads.
    - Service client with VIEW_POM_ALLOCATIONS: yes.
    """
    if _is_service_reader(identity) or _is_spo_at(identity, caseloads, prison_code):
        return True
    return (
        _is_pom_at(identity, caseloads, prison_code)
        and own_staff_id is not None
        and own_staff_id == staff_id
    )


def can_mutate(identity: Identity, caseloads: frozenset[str], prison_code: str | None) -> bool:
    """May the caller change allocations, case information or POM details at a prison?

    Only an SPO (a NOMIS user with ROLE_ALLOC_MGR) with the prison in their
    caseloads. POMs cannot allocate, and client tokens are read only whatever
    roles they carry: a write must be attributable to a person. No prison
    (an unknown prisoner) is refused like any prison outside the caseloads.
    Whoever may change a prisoner may read them (`can_read_prisoner`).
    """
    return _is_spo_at(identity, caseloads, prison_code)
