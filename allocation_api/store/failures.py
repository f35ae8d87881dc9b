"""How store failures leave `store/`: as the domain exception tree, never as driver types.

`translate_store_errors()` wraps every repository call (and should wrap the
caller's whole transaction, because COMMIT can fail too):

- the database cannot be reached, the connection dropped, the pool is
  exhausted, the server is shutting down or refuses connections, or a
  statement ran past `statement_timeout`   -> `errors.StoreUnavailable`
- a constraint refused the data (CHECK, UNIQUE, NOT NULL, and the
  append-only guard on `allocation_event`), or a value does not fit its
  column (too long for a VARCHAR(n), out of NUMERIC range: SQLSTATE class
  22, `constraint` is then None)             -> `StoreConstraintViolation`
- a serialization failure or deadlock (another transaction got there
  first)                                      -> `errors.Conflict` (retryable)

Anything else (a programming error such as bad SQL) propagates unchanged:
it is a bug, and hiding it behind "unavailable" would make it harder to find.

Constraint names to expect in `StoreConstraintViolation.constraint` (all
defined in `migrations/versions/0001_initial.py`):
`ck_<table>_<column>` for value checks (e.g. `ck_allocation_offender_no`,
`ck_pom_detail_working_pattern`), `ck_<table>_primary_differs_from_secondary`,
`ck_<table>_message_length`, `ck_responsibility_override_reason_text_required_for_other`,
`uq_allocation_event_offender_no_version` (two writers produced the same
version: treat as a conflict), `<table>_pkey`, and
`allocation_event_append_only` (history rows cannot change).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import asyncpg
from sqlalchemy import exc as sa_exc

from allocation_api.errors import AllocationApiError, Conflict, StoreUnavailable

# SQLSTATE classes/codes meaning "the store, not the data, is the problem".
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "53", "57P")  # connection, resources, shutdown
_STATEMENT_TIMEOUT = "57014"  # query_canceled, raised by statement_timeout
_BAD_DATA_SQLSTATE_PREFIXES = ("22", "23")  # data exception, integrity constraint violation
_RETRYABLE_CONFLICTS = frozenset({"40001", "40P01"})  # serialization_failure, deadlock


class StoreConstraintViolation(AllocationApiError):
    """The database refused a write because it would break a constraint.

    `constraint` names the constraint (see the module docstring for the list),
    so resolvers can map it to a precise domain error. The message never
    includes the row's values: they may be personal data.
    """

    code = "STORE_CONSTRAINT_VIOLATION"

    def __init__(
        self,
        message: str,
        *,
        constraint: str | None,
        table: str | None = None,
        sqlstate: str | None = None,
    ) -> None:
        super().__init__(message)
        self.constraint = constraint
        self.table = table
        self.sqlstate = sqlstate


@contextlib.asynccontextmanager
async def translate_store_errors() -> AsyncIterator[None]:
    """Turn driver and SQLAlchemy failures inside the block into domain exceptions.

    Also usable as a decorator on coroutine functions.
    """
    try:
        yield
    except sa_exc.TimeoutError as error:  # pool exhausted: no connection within pool_timeout
        raise StoreUnavailable("no database connection available in time") from error
    except sa_exc.DBAPIError as error:
        translated = _translate_dbapi_error(error)
        if translated is None:
            raise
        raise translated from error
    except asyncpg.PostgresConnectionError as error:
        raise StoreUnavailable("database connection failed") from error
    except asyncpg.PostgresError as error:  # reads on the read pool (`read_pool.py`)
        translated = _translate_sqlstate(error, error.sqlstate)
        if translated is None:
            raise
        raise translated from error
    except asyncpg.InterfaceError as error:
        if "closed" not in str(error):
            raise
        raise StoreUnavailable("database connection closed") from error
    except (OSError, TimeoutError) as error:  # refused, unreachable, DNS, connect timeout
        raise StoreUnavailable(f"database unreachable: {type(error).__name__}") from error


def _translate_dbapi_error(error: sa_exc.DBAPIError) -> AllocationApiError | None:
    """The domain exception for a driver error, or None when it is a bug to re-raise."""
    if isinstance(error, sa_exc.IntegrityError | sa_exc.DataError):
        return _constraint_violation(error)
    translated = _translate_sqlstate(error, _sqlstate(error))
    if translated is not None:
        return translated
    if (
        error.connection_invalidated
        or isinstance(error, sa_exc.OperationalError)
        # Other interface errors (e.g. two coroutines sharing a connection) are bugs.
        or (isinstance(error, sa_exc.InterfaceError) and "closed" in str(error))
    ):
        return StoreUnavailable("database connection failed")
    return None


def _translate_sqlstate(error: BaseException, sqlstate: str | None) -> AllocationApiError | None:
    """The domain exception a SQLSTATE means, or None when it says nothing (a bug)."""
    if sqlstate is None:
        return None
    if sqlstate.startswith(_BAD_DATA_SQLSTATE_PREFIXES):
        return _constraint_violation(error)
    if sqlstate == _STATEMENT_TIMEOUT:
        return StoreUnavailable("database statement timed out")
    if sqlstate in _RETRYABLE_CONFLICTS:
        return Conflict("a concurrent change got in first; try again", code="CONCURRENT_CHANGE")
    if sqlstate.startswith(_UNAVAILABLE_SQLSTATE_PREFIXES):
        return StoreUnavailable("database connection failed")
    return None


def _constraint_violation(error: BaseException) -> StoreConstraintViolation:
    constraint = table = None
    for cause in _chain(error):
        constraint = constraint or getattr(cause, "constraint_name", None)
        table = table or getattr(cause, "table_name", None)
    sqlstate = _sqlstate(error)
    reason = f"constraint {constraint}" if constraint else f"SQLSTATE {sqlstate}"
    return StoreConstraintViolation(
        f"the database refused the data ({reason})",
        constraint=constraint,
        table=table,
        sqlstate=sqlstate,
    )


def _sqlstate(error: BaseException) -> str | None:
    for cause in _chain(error):
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str):
            return sqlstate
    return None


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, SQLAlchemy's wrapped DBAPI error, and the asyncpg error behind it."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        pending.extend([orig if isinstance(orig, BaseException) else None, current.__cause__])
