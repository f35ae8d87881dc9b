"""The outbox publisher: committed events to the SNS topic, at least once, in order.

Each batch is one transaction. It claims the oldest pending row of up to
`batch_size` prisoners whose earlier events are all out of the way
(`FOR UPDATE SKIP LOCKED`, so replicas claim disjoint prisoners), then those
prisoners' later pending rows behind them, and publishes each prisoner's rows
in `seq` order, stopping a prisoner's chain at its first failure. Published
rows are marked in the same transaction; a failed row gets `attempts + 1` and
a `next_attempt_at` with exponential backoff and jitter, and is parked (kept
with its error, no longer tried) after `max_attempts`. Guarantees:

- at least once: a row is marked published only after SNS accepted it, and
  the mark commits with the claim; a publisher killed in between leaves the
  row pending (its locks go with its connection) and it is sent again;
- per prisoner in commit order: a row is claimed only when no earlier row of
  its prisoner is pending, and a claimed chain stops at a failure; a parked
  row no longer holds its prisoner's later events back;
- no double publication by two replicas: a prisoner's pending rows are
  locked by the one publisher that claimed its oldest, and a row another
  publisher has published is no longer pending when the next claim reads.

Published rows are pruned after `retention`, in batches (`prune`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from allocation_api.settings import Settings

__all__ = [
    "DrainReport",
    "OutboxStatus",
    "Publisher",
    "PublisherConfig",
    "PublisherObserver",
    "outbox_status",
    "prune_published",
]

log = logging.getLogger("allocation_api.events.publisher")

EVENT_TYPE_ATTRIBUTE = "eventType"
LAST_ERROR_CHARS = 2000
MAX_CONCURRENT_PUBLISHES = 10

_CLAIM_HEADS = sa.text(
    """
    SELECT o.seq FROM event_outbox o
    WHERE o.state = 'pending' AND o.next_attempt_at <= now()
      AND NOT EXISTS (
        SELECT 1 FROM event_outbox e
        WHERE e.state = 'pending' AND e.offender_no = o.offender_no AND e.seq < o.seq)
    ORDER BY o.seq
    LIMIT :batch
    FOR UPDATE OF o SKIP LOCKED
    """
)
# The claimed heads and the later pending rows of their prisoners: nobody else
# can hold those (they are behind a head this transaction has locked).
_CLAIMED_ROWS = sa.text(
    """
    SELECT seq, event_id, event_type, offender_no, payload, attempts FROM event_outbox
    WHERE state = 'pending'
      AND offender_no IN (SELECT offender_no FROM event_outbox WHERE seq = ANY(:heads))
    ORDER BY seq
    LIMIT :rows
    FOR UPDATE
    """
)
_MARK_PUBLISHED = sa.text(
    """
    UPDATE event_outbox
    SET state = 'published', published_at = now(), attempts = attempts + 1, last_error = NULL
    WHERE seq = ANY(:seqs)
    """
)
_MARK_FAILED = sa.text(
    """
    UPDATE event_outbox
    SET attempts = attempts + 1, last_error = :error,
        state = CASE WHEN attempts + 1 >= :max_attempts THEN 'parked' ELSE 'pending' END,
        next_attempt_at = now() + make_interval(secs => :delay)
    WHERE seq = :seq
    RETURNING state
    """
)
_STATUS = sa.text(
    """
    SELECT
      (SELECT count(*) FROM event_outbox WHERE state = 'pending') AS backlog,
      (SELECT count(*) FROM event_outbox WHERE state = 'pending' AND attempts > 0) AS failing,
      (SELECT count(*) FROM event_outbox WHERE state = 'parked') AS parked,
      (SELECT extract(epoch FROM now() - min(occurred_at))
         FROM event_outbox WHERE state = 'pending') AS oldest
    """
)
_PRUNE = sa.text(
    """
    DELETE FROM event_outbox WHERE seq IN (
      SELECT seq FROM event_outbox
      WHERE state = 'published' AND published_at < now() - :retention
      ORDER BY published_at
      LIMIT :batch
      FOR UPDATE SKIP LOCKED)
    """
).bindparams(sa.bindparam("retention", type_=sa.Interval()))


class PublisherObserver(Protocol):
    """Where the publisher reports what it did (the app's metrics)."""

    def published(self, count: int) -> None: ...
    def failed(self, count: int) -> None: ...
    def parked(self, count: int) -> None: ...
    def backlog(self, count: int) -> None: ...


@dataclass(frozen=True, slots=True)
class PublisherConfig:
    topic_arn: str
    detail_base_url: str
    region: str = "eu-west-2"
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    batch_size: int = 100
    max_attempts: int = 10
    backoff_base_s: float = 1.0
    backoff_max_s: float = 300.0
    publish_timeout_s: float = 10.0
    retention: timedelta = timedelta(days=7)
    prune_batch: int = 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> PublisherConfig | None:
        """None when no topic is configured (events then wait in the outbox)."""
        if not settings.events_topic_arn:
            return None
        secret = settings.events_aws_secret_access_key
        return cls(
            topic_arn=settings.events_topic_arn,
            detail_base_url=settings.events_detail_base_url,
            region=settings.events_aws_region,
            endpoint_url=settings.events_sns_endpoint_url,
            access_key_id=settings.events_aws_access_key_id,
            secret_access_key=None if secret is None else secret.get_secret_value(),
            batch_size=settings.events_batch_size,
            max_attempts=settings.events_max_attempts,
            backoff_base_s=settings.events_backoff_base_s,
            backoff_max_s=settings.events_backoff_max_s,
            publish_timeout_s=settings.events_publish_timeout_s,
            retention=settings.events_retention,
            prune_batch=settings.events_prune_batch,
        )

    def backoff_s(self, attempts: int) -> float:
        """Delay before the next try after `attempts` failures: doubling, capped, with
        jitter over its upper half (replicas and prisoners do not retry in step)."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** min(attempts - 1, 30))
        return float(ceiling / 2 + random.uniform(0, ceiling / 2))


@dataclass(slots=True)
class DrainReport:
    published: int = 0
    failed: int = 0
    parked: int = 0
    batches: int = 0
    pruned: int = 0

    def add(self, other: DrainReport) -> None:
        self.published += other.published
        self.failed += other.failed
        self.parked += other.parked
        self.batches += other.batches
        self.pruned += other.pruned

    def as_dict(self) -> dict[str, int]:
        return {
            "published": self.published,
            "failed": self.failed,
            "parked": self.parked,
            "batches": self.batches,
            "pruned": self.pruned,
        }


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    backlog: int
    failing: int
    parked: int
    oldest_pending_age_s: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "backlog": self.backlog,
            "failing": self.failing,
            "parked": self.parked,
            "oldestPendingAgeSeconds": None
            if self.oldest_pending_age_s is None
            else round(self.oldest_pending_age_s, 3),
        }


async def outbox_status(engine: AsyncEngine) -> OutboxStatus:
    """Backlog, failing and parked counts, and the oldest pending event's age (1 query)."""
    async with engine.connect() as conn:
        row = (await conn.execute(_STATUS)).one()
    return OutboxStatus(
        backlog=int(row.backlog),
        failing=int(row.failing),
        parked=int(row.parked),
        oldest_pending_age_s=None if row.oldest is None else float(row.oldest),
    )


async def prune_published(
    engine: AsyncEngine, *, retention: timedelta, batch_size: int = 1000
) -> int:
    """Delete events published more than `retention` ago, `batch_size` per transaction,
    until a batch finds fewer; rows another pruner holds are skipped (it deletes them)."""
    deleted = 0
    while True:
        async with engine.begin() as conn:
            result = await conn.execute(_PRUNE, {"retention": retention, "batch": batch_size})
        count = int(result.rowcount or 0)
        deleted += count
        if count < batch_size:
            return deleted


@dataclass(slots=True)
class _Row:
    seq: int
    event_id: str
    event_type: str
    offender_no: str
    payload: dict[str, Any]
    attempts: int


@dataclass(slots=True)
class _Outcome:
    published: list[int] = field(default_factory=list)
    failed: list[tuple[_Row, str]] = field(default_factory=list)


class Publisher:
    """Publishes the outbox to one SNS topic; `async with Publisher(...)` opens its client."""

    def __init__(
        self,
        engine: AsyncEngine,
        config: PublisherConfig,
        observer: PublisherObserver | None = None,
    ) -> None:
        self._engine = engine
        self._config = config
        self._observer = observer
        self._stack = contextlib.AsyncExitStack()
        self._client: Any = None

    async def __aenter__(self) -> Publisher:
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session

        config = self._config
        credentials: dict[str, str] = {}
        if config.access_key_id is not None and config.secret_access_key is not None:
            credentials = {
                "aws_access_key_id": config.access_key_id,
                "aws_secret_access_key": config.secret_access_key,
            }
        self._client = await self._stack.enter_async_context(
            get_session().create_client(
                "sns",
                region_name=config.region,
                endpoint_url=config.endpoint_url,
                config=AioConfig(
                    connect_timeout=config.publish_timeout_s,
                    read_timeout=config.publish_timeout_s,
                    # Retries are the outbox's (per row, with backoff), not botocore's.
                    retries={"max_attempts": 1, "mode": "standard"},
                    max_pool_connections=MAX_CONCURRENT_PUBLISHES,
                ),
                **credentials,
            )
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    def message(self, row: _Row) -> str:
        """The SNS message: the envelope with `detailUrl` made absolute."""
        envelope = dict(row.payload)
        path = envelope.get("detailUrl")
        if isinstance(path, str) and path.startswith("/"):
            envelope["detailUrl"] = self._config.detail_base_url.rstrip("/") + path
        return orjson.dumps(envelope).decode()

    async def _publish(self, row: _Row) -> None:
        await asyncio.wait_for(
            self._client.publish(
                TopicArn=self._config.topic_arn,
                Message=self.message(row),
                MessageAttributes={
                    EVENT_TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": row.event_type}
                },
            ),
            timeout=self._config.publish_timeout_s,
        )

    async def _publish_chain(
        self, rows: Sequence[_Row], outcome: _Outcome, limit: asyncio.Semaphore
    ) -> None:
        """One prisoner's rows in order; the first failure stops the rest."""
        for row in rows:
            try:
                async with limit:
                    await self._publish(row)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                message = f"{type(error).__name__}: {error}"[:LAST_ERROR_CHARS]
                outcome.failed.append((row, message))
                return
            outcome.published.append(row.seq)

    async def publish_batch(self) -> DrainReport:
        """Claim, publish and mark one batch in one transaction."""
        config = self._config
        report = DrainReport()
        async with self._engine.begin() as conn:
            heads = list((await conn.execute(_CLAIM_HEADS, {"batch": config.batch_size})).scalars())
            if not heads:
                return report
            report.batches = 1
            rows = await self._claimed_rows(conn, heads)
            chains: dict[str, list[_Row]] = defaultdict(list)
            for row in rows:
                chains[row.offender_no].append(row)
            outcome = _Outcome()
            limit = asyncio.Semaphore(MAX_CONCURRENT_PUBLISHES)
            await asyncio.gather(
                *(self._publish_chain(chain, outcome, limit) for chain in chains.values())
            )
            if outcome.published:
                await conn.execute(_MARK_PUBLISHED, {"seqs": outcome.published})
            for row, error in outcome.failed:
                state = (
                    await conn.execute(
                        _MARK_FAILED,
                        {
                            "seq": row.seq,
                            "error": error,
                            "max_attempts": config.max_attempts,
                            "delay": config.backoff_s(row.attempts + 1),
                        },
                    )
                ).scalar_one()
                if state == "parked":
                    report.parked += 1
                    log.error(
                        "event %s (%s, %s) parked after %d tries: %s",
                        row.event_id,
                        row.event_type,
                        row.offender_no,
                        row.attempts + 1,
                        error,
                    )
                else:
                    report.failed += 1
                    log.warning("event %s not published (will retry): %s", row.event_id, error)
            report.published = len(outcome.published)
        if self._observer is not None:
            self._observer.published(report.published)
            self._observer.failed(report.failed + report.parked)
            self._observer.parked(report.parked)
        return report

    async def _claimed_rows(self, conn: AsyncConnection, heads: list[int]) -> list[_Row]:
        result = await conn.execute(
            _CLAIMED_ROWS, {"heads": heads, "rows": self._config.batch_size * 10}
        )
        return [
            _Row(
                seq=r.seq,
                event_id=str(r.event_id),
                event_type=r.event_type,
                offender_no=r.offender_no,
                payload=r.payload,
                attempts=r.attempts,
            )
            for r in result
        ]

    async def drain(self, *, max_batches: int | None = None) -> DrainReport:
        """Publish batches until one claims nothing due (or `max_batches` ran)."""
        total = DrainReport()
        while max_batches is None or total.batches < max_batches:
            report = await self.publish_batch()
            if report.batches == 0:
                break
            total.add(report)
            if report.published + report.failed + report.parked == 0:
                # A batch that claimed heads but settled none of them (which the
                # claim's ordering should make impossible) ends the drain rather
                # than spinning on the same heads; the next round tries again.
                break
        return total

    async def prune(self) -> int:
        return await prune_published(
            self._engine, retention=self._config.retention, batch_size=self._config.prune_batch
        )

    async def report_backlog(self) -> OutboxStatus:
        status = await outbox_status(self._engine)
        if self._observer is not None:
            self._observer.backlog(status.backlog)
        return status

    async def run(self, *, interval_s: float, prune_every_s: float = 3600.0) -> None:
        """Drain every `interval_s` until cancelled; prune and report the backlog now and
        then. A failed round (the store down) is logged and tried again next time."""
        last_prune = last_status = float("-inf")
        while True:
            try:
                await self.drain()
                now = time.monotonic()
                if now - last_status >= 5.0:
                    last_status = now
                    await self.report_backlog()
                if now - last_prune >= prune_every_s:
                    last_prune = now
                    pruned = await self.prune()
                    if pruned:
                        log.info("pruned %d published events", pruned)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("event publishing round failed; retrying", exc_info=True)
            await asyncio.sleep(interval_s)
