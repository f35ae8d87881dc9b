"""`allocation-api events tail`: the dev queue's events, printed as they arrive.

The queue receives SNS notifications (raw delivery off, like the HMPPS
queues); each line printed is the event inside (the notification's
`Message`), with the `eventType` message attribute checked against it.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

from allocation_api.events.local_broker import sqs_client

WAIT_S = 10


def event_of(body: str) -> tuple[dict[str, Any], str | None]:
    """The event envelope inside an SNS notification, and its `eventType` attribute."""
    notification = orjson.loads(body)
    envelope: dict[str, Any] = orjson.loads(notification["Message"])
    attribute = notification.get("MessageAttributes", {}).get("eventType", {}).get("Value")
    return envelope, attribute


async def tail(endpoint: str, queue_url: str, *, limit: int | None = None) -> int:
    """Long-poll the queue, print each event as one JSON line, delete it; stop after
    `limit` events (None: until interrupted). Returns how many were printed."""
    printed = 0
    async with sqs_client(endpoint) as sqs:
        while limit is None or printed < limit:
            answer = await sqs.receive_message(
                QueueUrl=queue_url, WaitTimeSeconds=WAIT_S, MaxNumberOfMessages=10
            )
            for message in answer.get("Messages", []):
                envelope, attribute = event_of(message["Body"])
                if attribute != envelope.get("eventType"):
                    print(f"(eventType attribute {attribute!r} differs)", file=sys.stderr)
                print(orjson.dumps(envelope).decode(), flush=True)
                await sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                printed += 1
    return printed
