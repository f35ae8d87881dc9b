"""How long stored mutation responses live, and the job that deletes them.

A mutation claims its idempotency key in the transaction that writes
(`guards.claim_idempotency_key`), so a retried request (same key) is
replayed and the record and the write commit or roll back together.

Keys expire after a retention period (`idempotency_retention_days`, 7 days by
default: clients retry within seconds or minutes, and a retry queue that has
not delivered within a week is being replayed by hand, where a new key is
right). An expired key is never replayed, even before the purge removes it,
and a new request with that key takes its place. `purge_expired_idempotency_keys`
deletes expired keys in bounded batches; two replicas running it at once split
the rows between them (`FOR UPDATE SKIP LOCKED`) instead of waiting or
deleting twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from allocation_api.store.failures import translate_store_errors

__all__ = [
    "DEFAULT_RETENTION",
    "PurgeReport",
    "expiry_cutoff",
    "purge_expired_idempotency_keys",
    "purge_periodically",
]

DEFAULT_RETENTION = timedelta(days=7)

log = logging.getLogger("allocation_api.store.idempotency")


def expiry_cutoff(retention: timedelta) -> sa.ColumnElement[datetime]:
    """Rows created before this have expired (the database's clock, one for all replicas)."""
    return sa.func.now() - sa.literal(retention, sa.Interval())


@dataclass(frozen=True)
class PurgeReport:
    deleted: int
    batches: int

    def as_dict(self) -> dict[str, int]:
        return {"deleted": self.deleted, "batches": self.batches}


_PURGE_BATCH = sa.text(
    """
    WITH doomed AS (
        SELECT key, operation FROM idempotency_key
        WHERE created_at < now() - :retention
        ORDER BY created_at
        LIMIT :batch
        FOR UPDATE SKIP LOCKED
    )
    DELETE FROM idempotency_key AS k USING doomed AS d
    WHERE k.key = d.key AND k.operation = d.operation
    """
).bindparams(sa.bindparam("retention", type_=sa.Interval()), sa.bindparam("batch"))


async def purge_expired_idempotency_keys(
    engine: AsyncEngine,
    *,
    retention: timedelta = DEFAULT_RETENTION,
    batch_size: int = 1000,
    max_batches: int | None = None,
) -> PurgeReport:
    """Delete expired keys, oldest first, `batch_size` rows per transaction, until a
    batch finds fewer (or `max_batches` ran).

    Short transactions hold few row locks and little WAL each; rows another
    purger has locked are skipped (it deletes them), so replicas purging at the
    same time neither block each other nor count a row twice."""
    deleted = batches = 0
    while max_batches is None or batches < max_batches:
        async with translate_store_errors(), engine.begin() as connection:
            result = await connection.execute(
                _PURGE_BATCH, {"retention": retention, "batch": batch_size}
            )
        batches += 1
        deleted += result.rowcount
        if result.rowcount < batch_size:
            break
    return PurgeReport(deleted=deleted, batches=batches)


async def purge_periodically(
    engine: AsyncEngine, *, retention: timedelta, batch_size: int, interval_s: float
) -> None:
    """Purge now and then every `interval_s`, until cancelled (a serving process's
    background task). A failed purge is logged and tried again next time; a
    cancellation between or inside batches loses nothing (each batch commits or
    rolls back whole)."""
    while True:
        try:
            report = await purge_expired_idempotency_keys(
                engine, retention=retention, batch_size=batch_size
            )
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the store is down: the next run catches up
            log.warning("purging expired idempotency keys failed: %s", error)
        else:
            if report.deleted:
                log.info("purged %d expired idempotency keys", report.deleted)
        await asyncio.sleep(interval_s)
