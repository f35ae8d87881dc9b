"""Guards that close write races in the database itself, inside the caller's transaction.

A check made on an earlier read cannot hold an invariant against a
concurrent writer: `SELECT ... FOR UPDATE` locks nothing while a row does
not exist yet, and a status read before the transaction is stale by the
time it commits. Each guard here makes Postgres decide:

- `lock_pom` / `pom_status_locked`: a transaction-scoped advisory lock on
  (staff id, prison). Allocations take it SHARED (they do not wait for each
  other) and read the POM's owned status under it; any change to a POM's
  details takes it EXCLUSIVE. So an allocation either commits before a POM
  is made INACTIVE (and the INACTIVE change then sees and releases it) or
  reads INACTIVE and is refused. An advisory lock rather than a row lock,
  because a POM without recorded details has no row to lock.
- `write_versioned`: `expectedVersion` enforced by the write statement:
  0 is an INSERT ... ON CONFLICT DO NOTHING (a second creator finds the
  row and is refused), n is an UPDATE ... WHERE version = n, and no
  expected version is an atomic upsert of only the columns being changed
  (racing writers neither fail nor overwrite each other's fields).
- `claim_idempotency_key`: the key is recorded FIRST in the transaction
  that does the write, so the record and the write commit or roll back
  together. A second request with the same key waits on the unique key
  until the first transaction ends, then replays its committed answer (same
  request), is refused (different request or user), or, if the first rolled
  back, does the write itself.

Lock order, to rule out deadlocks: idempotency key, then POM lock, then
allocation rows. Every function is a fixed small number of statements.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.errors import Conflict
from allocation_api.store.enums import PomStatus
from allocation_api.store.failures import translate_store_errors
from allocation_api.store.idempotency import DEFAULT_RETENTION, expiry_cutoff
from allocation_api.store.tables import IdempotencyKey, PomDetail

__all__ = [
    "claim_idempotency_key",
    "current_version",
    "lock_pom",
    "pom_lock_key",
    "pom_status_locked",
    "store_idempotent_response",
    "write_versioned",
]

M = TypeVar("M", bound=SQLModel)

_CLAIM_ATTEMPTS = 3


# --- POM lock -------------------------------------------------------------------------------


def pom_lock_key(staff_id: int, prison_code: str) -> int:
    """The advisory lock key of one POM at one prison: a signed 64-bit hash.

    Namespaced ("pom-status:") so it does not meet other advisory locks of the
    service; two POMs sharing a key (2^-64) would only serialise needlessly.
    """
    digest = hashlib.blake2b(f"pom-status:{staff_id}:{prison_code}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


@translate_store_errors()
async def lock_pom(
    session: AsyncSession, staff_id: int, prison_code: str, *, exclusive: bool
) -> None:
    """Take the POM's advisory lock until the transaction ends (1 statement).

    SHARED for writers that need the POM to stay as it is (allocations),
    EXCLUSIVE for writers that change it (`updatePomDetails`). Waits for
    conflicting holders; `statement_timeout` bounds the wait.
    """
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    connection = await session.connection()
    await connection.execute(
        sa.text(f"SELECT {function}(:key)").bindparams(sa.bindparam("key", type_=sa.BigInteger)),
        {"key": pom_lock_key(staff_id, prison_code)},
    )


@translate_store_errors()
async def pom_status_locked(session: AsyncSession, staff_id: int, prison_code: str) -> PomStatus:
    """The POM's owned status, read under its SHARED lock (2 statements).

    ACTIVE when no details are recorded. The lock is held to the end of the
    transaction, so the status cannot change before this transaction commits.
    """
    await lock_pom(session, staff_id, prison_code, exclusive=False)
    statement = select(PomDetail.status).where(
        col(PomDetail.staff_id) == staff_id, col(PomDetail.prison_code) == prison_code
    )
    with session.no_autoflush:
        status = (await session.exec(statement)).one_or_none()
    return PomStatus.ACTIVE if status is None else PomStatus(status)


# --- versioned writes -----------------------------------------------------------------------


def _where_key(model: type[SQLModel], key: dict[str, Any]) -> list[Any]:
    columns = sa.inspect(model).columns
    return [columns[name] == value for name, value in key.items()]


@translate_store_errors()
async def current_version(session: AsyncSession, model: type[SQLModel], key: dict[str, Any]) -> int:
    """The committed version of the row with primary key `key`; 0 when there is none."""
    version = sa.inspect(model).columns["version"]
    statement = sa.select(version).where(*_where_key(model, key))
    connection = await session.connection()
    found = (await connection.execute(statement)).scalar_one_or_none()
    return 0 if found is None else int(found)


def _stale(current: int, expected: int) -> Conflict:
    return Conflict(
        f"The record is at version {current}, not {expected}: read it again",
        code="STALE_VERSION",
        current_version=current,
    )


@translate_store_errors()
async def write_versioned(
    session: AsyncSession,
    model: type[M],
    key: dict[str, Any],
    *,
    create: dict[str, Any],
    change: dict[str, Any],
    expected_version: int | None,
) -> M:
    """Create or change one versioned row (`version`, `updated_at`), checked by Postgres.

    `key` is the primary key; `create` the other columns of a new row (the
    database fills `version` = 1 and the timestamps); `change` the columns
    an existing row gets (its `version` goes up by one).

    - `expected_version` None: INSERT ... ON CONFLICT DO UPDATE SET `change`
      (1 statement; concurrent writers all succeed, in some order, and a
      column one of them does not change keeps the other's value);
    - 0: INSERT ... ON CONFLICT DO NOTHING (1 statement; 2 when the row
      exists: refused with `Conflict` STALE_VERSION and its version);
    - n > 0: UPDATE ... WHERE version = n (1 statement; 2 when refused).

    Returns the stored row, refreshed.
    """
    table = sa.inspect(model)
    version = table.columns["version"]
    key_columns = [table.columns[name] for name in key]
    bumped = {**change, "version": version + 1, "updated_at": sa.func.now()}
    statement: Any
    if expected_version is None or expected_version == 0:
        statement = insert(model).values(**key, **create)
        if expected_version is None:
            statement = statement.on_conflict_do_update(index_elements=key_columns, set_=bumped)
        else:
            statement = statement.on_conflict_do_nothing(index_elements=key_columns)
    else:
        statement = (
            sa.update(model)
            .where(*_where_key(model, key), version == expected_version)
            .values(**bumped)
            .execution_options(synchronize_session=False)
        )
    statement = statement.returning(model).execution_options(populate_existing=True)
    with session.no_autoflush:
        saved = (await session.exec(statement)).scalars().one_or_none()
    if saved is None:
        raise _stale(await current_version(session, model, key), expected_version or 0)
    return saved  # type: ignore[no-any-return]


# --- idempotency keys ----------------------------------------------------------------------


@translate_store_errors()
async def claim_idempotency_key(
    session: AsyncSession,
    *,
    key: str,
    operation: str,
    request_hash: str,
    username: str | None,
    retention: timedelta = DEFAULT_RETENTION,
) -> IdempotencyKey | None:
    """Record (`key`, `operation`) for this transaction's write, before the write.

    None: claimed. The caller does the write and must call
    `store_idempotent_response` before committing; a rollback releases the
    key. Otherwise the committed record of an earlier request with this key:
    the caller replays its response when `request_hash` and the user match,
    and refuses otherwise, writing nothing either way. A concurrent claimant's
    INSERT waits for this transaction to end. 1 statement when claimed, 2
    when the key is taken. A record older than `retention` has expired: it
    is never replayed, and this claim takes it over as a new request.
    """
    values: dict[str, Any] = {
        "key": key,
        "operation": operation,
        "request_hash": request_hash,
        # Replaced by the answer before commit: no other transaction can see it.
        "response": {},
        "created_by_username": username,
        "created_at": sa.func.now(),
    }
    claim = (
        insert(IdempotencyKey)
        .values(**values)
        .on_conflict_do_update(
            index_elements=[col(IdempotencyKey.key), col(IdempotencyKey.operation)],
            set_={k: v for k, v in values.items() if k not in ("key", "operation")},
            where=col(IdempotencyKey.created_at) < expiry_cutoff(retention),
        )
        .returning(col(IdempotencyKey.key))
    )
    stored = (
        select(IdempotencyKey)
        .where(col(IdempotencyKey.key) == key, col(IdempotencyKey.operation) == operation)
        .execution_options(populate_existing=True)
    )
    with session.no_autoflush:
        for _ in range(_CLAIM_ATTEMPTS):
            if (await session.exec(claim)).first() is not None:
                return None
            # Taken by a committed transaction: read committed, the record is visible now.
            found = (await session.exec(stored)).one_or_none()
            if found is not None:
                return found
            # Removed in between (a purge): claim again.
    raise Conflict("a concurrent change got in first; try again", code="CONCURRENT_CHANGE")


@translate_store_errors()
async def store_idempotent_response(
    session: AsyncSession, *, key: str, operation: str, response: dict[str, Any]
) -> None:
    """Save the answer of the write that claimed (`key`, `operation`) (1 statement)."""
    statement = (
        sa.update(IdempotencyKey)
        .where(col(IdempotencyKey.key) == key, col(IdempotencyKey.operation) == operation)
        .values(response=response)
        .execution_options(synchronize_session=False)
    )
    with session.no_autoflush:
        await session.exec(statement)
