"""Shared pieces of the resilience tests: GraphQL documents, response checks and the
audit of the owned store, read straight from Postgres (not through the API)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from allocation_api.store.urls import asyncpg_url
from tests.conftest import RunningApi
from tests.e2e.api.helpers import active_poms, ready_prisoner_and_pom, recommended

UPSTREAM_CODES = frozenset({"UPSTREAM_UNAVAILABLE", "UPSTREAM_TIMEOUT", "UPSTREAM_REJECTED"})

PAYLOAD_FIELDS = """
  __typename
  ... on Allocation { offenderNo prisonCode primaryPomStaffId primaryPomName
                      secondaryPomStaffId version
                      history { event primaryPomStaffId secondaryPomStaffId allocationVersion } }
  ... on Error { code message }
  ... on ConflictError { currentVersion }
  ... on ServiceUnavailableError { upstream }
"""

ALLOCATE = f"""mutation Allocate($input: AllocatePrimaryPomInput!) {{
  allocatePrimaryPom(input: $input) {{ {PAYLOAD_FIELDS} }} }}"""

DEALLOCATE = f"""mutation Deallocate($input: DeallocateInput!) {{
  deallocatePrimaryPom(input: $input) {{ {PAYLOAD_FIELDS} }} }}"""


def assert_clean_body(body: Any) -> None:
    """A GraphQL answer a client can handle: a JSON object with data and/or errors,
    every error carrying a code, and nothing of the server's insides."""
    assert isinstance(body, dict), f"not a JSON object: {body!r:.300}"
    assert "data" in body or "errors" in body, body
    for error in body.get("errors", []):
        assert isinstance(error.get("message"), str), error
        assert isinstance(error.get("extensions", {}).get("code"), str), error
    text = str(body)
    for leak in ("Traceback", 'File "', "asyncpg.", "sqlalchemy.", "aiohttp."):
        assert leak not in text, f"{leak!r} leaked into the response: {text:.500}"


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


# --- owned store audit -----------------------------------------------------------------


@dataclass
class PrisonerAudit:
    offender_no: str
    row: dict[str, Any] | None
    events: list[dict[str, Any]]
    mismatches: list[str] = field(default_factory=list)


@dataclass
class StoreAudit:
    prisoners: dict[str, PrisonerAudit]

    @property
    def events(self) -> int:
        return sum(len(p.events) for p in self.prisoners.values())

    @property
    def mismatches(self) -> list[str]:
        return [m for p in self.prisoners.values() for m in p.mismatches]


async def store_audit(database_url: str, offender_nos: Iterable[str]) -> StoreAudit:
    """Check, from Postgres itself, that each prisoner's current row agrees with its history.

    For every prisoner: versions of the events are 1..n with no gap or double, in
    insertion order; the row's version is n; and the row's POMs are those of the
    last event. A row at version 0 (created, never changed) has no events.
    """
    nos = sorted(set(offender_nos))
    engine = create_async_engine(asyncpg_url(database_url), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    sa.text(
                        "SELECT offender_no, prison_code, primary_pom_staff_id,"
                        " secondary_pom_staff_id, version FROM allocation"
                        " WHERE offender_no = ANY(:nos)"
                    ),
                    {"nos": nos},
                )
            ).mappings()
            by_no = {r["offender_no"]: dict(r) for r in rows}
            events = (
                await connection.execute(
                    sa.text(
                        "SELECT id, offender_no, primary_pom_staff_id, secondary_pom_staff_id,"
                        " allocation_version FROM allocation_event"
                        " WHERE offender_no = ANY(:nos) ORDER BY id"
                    ),
                    {"nos": nos},
                )
            ).mappings()
            events_by_no: dict[str, list[dict[str, Any]]] = {no: [] for no in nos}
            for event in events:
                events_by_no[event["offender_no"]].append(dict(event))
    finally:
        await engine.dispose()

    audits = {}
    for no in nos:
        audit = PrisonerAudit(no, by_no.get(no), events_by_no[no])
        versions = [e["allocation_version"] for e in audit.events]
        if versions != list(range(1, len(versions) + 1)):
            audit.mismatches.append(f"{no}: event versions {versions} are not 1..{len(versions)}")
        row = audit.row
        if row is None:
            if audit.events:
                audit.mismatches.append(f"{no}: {len(audit.events)} events but no row")
        else:
            if row["version"] != len(audit.events):
                audit.mismatches.append(
                    f"{no}: row at version {row['version']} but {len(audit.events)} events"
                )
            if audit.events:
                last = audit.events[-1]
                ours = (row["primary_pom_staff_id"], row["secondary_pom_staff_id"])
                theirs = (last["primary_pom_staff_id"], last["secondary_pom_staff_id"])
                if ours != theirs or last["allocation_version"] != row["version"]:
                    audit.mismatches.append(
                        f"{no}: row {ours} v{row['version']} != last event {theirs}"
                        f" v{last['allocation_version']}"
                    )
        audits[no] = audit
    return StoreAudit(audits)


async def table_counts(database_url: str) -> dict[str, int]:
    """Rows per owned table, plus the sum of versions of the versioned ones: any
    write at all (insert, update, delete) changes at least one of these numbers."""
    queries = {
        "allocation": "SELECT count(*) FROM allocation",
        "allocation.versions": "SELECT coalesce(sum(version), 0) FROM allocation",
        "allocation_event": "SELECT count(*) FROM allocation_event",
        "case_information": "SELECT count(*) FROM case_information",
        "case_information.versions": "SELECT coalesce(sum(version), 0) FROM case_information",
        "pom_detail": "SELECT count(*) FROM pom_detail",
        "pom_detail.versions": "SELECT coalesce(sum(version), 0) FROM pom_detail",
        "idempotency_key": "SELECT count(*) FROM idempotency_key",
    }
    engine = create_async_engine(asyncpg_url(database_url), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            return {
                name: int((await connection.execute(sa.text(sql))).scalar_one())
                for name, sql in queries.items()
            }
    finally:
        await engine.dispose()


# --- picking prisoners and POMs -----------------------------------------------------------


@dataclass
class Candidate:
    """A prisoner ready to allocate and the POMs that may be chosen for them."""

    offender_no: str
    recommended: str
    poms: list[dict[str, Any]]

    def input_for(self, pom: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """allocatePrimaryPom input; override reasons only where the type differs."""
        values: dict[str, Any] = {"offenderNo": self.offender_no, "staffId": pom["staffId"]}
        if pom["pomType"] != self.recommended:
            values["overrideReasons"] = ["NO_STAFF"]
        return {**values, **extra}


async def candidates(api: RunningApi, count: int, *, min_poms: int = 3) -> list[Candidate]:
    found = []
    for _ in range(count):
        no, _pom = await ready_prisoner_and_pom(api)
        # Active both here and in NOMIS (the sandbox has some inactive staff).
        nomis_active = {p["staffId"] for p in api.sandbox.data.active_poms("LEI")}
        poms = [p for p in await active_poms(api, "LEI") if p["staffId"] in nomis_active]
        assert len(poms) >= min_poms, f"only {len(poms)} active POMs at LEI"
        found.append(Candidate(no, await recommended(api, no), poms))
    return found


def successes(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in results if r.get("__typename") == "Allocation"]
