"""A local SNS/SQS broker for `allocation-api dev` and the tests: moto's server mode.

`start_local_broker()` runs moto's server in a thread on a free loopback port
and creates the domain-events topic and a queue subscribed to it with raw
message delivery off, so the queue receives the SNS notification envelope
(`{"Type": "Notification", "Message": <the event>, "MessageAttributes": ...}`)
as the real HMPPS queues do. moto is a dev extra: without it this returns
None and the caller says so in one line.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from typing import Any

from aiobotocore.session import get_session

__all__ = [
    "LOCAL_CREDENTIALS",
    "LOCAL_REGION",
    "TOPIC_NAME",
    "LocalBroker",
    "sqs_client",
    "start_local_broker",
    "subscribe_queue",
]

TOPIC_NAME = "hmpps-domain-events"
QUEUE_NAME = "allocation-api-events"
LOCAL_REGION = "eu-west-2"
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass
class LocalBroker:
    endpoint: str
    topic_arn: str
    queue_url: str
    _server: Any

    def as_dict(self) -> dict[str, str]:
        return {"endpoint": self.endpoint, "topicArn": self.topic_arn, "queueUrl": self.queue_url}

    def stop(self) -> None:
        self._server.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def client(service: str, endpoint: str) -> Any:
    """An aiobotocore client context manager for the local broker."""
    return get_session().create_client(
        service, region_name=LOCAL_REGION, endpoint_url=endpoint, **LOCAL_CREDENTIALS
    )


def sqs_client(endpoint: str) -> Any:
    return client("sqs", endpoint)


async def subscribe_queue(endpoint: str, topic_arn: str, queue_name: str) -> str:
    """Create a queue subscribed to the topic (raw delivery off); returns its URL."""
    async with client("sns", endpoint) as sns, client("sqs", endpoint) as sqs:
        queue_url: str = (await sqs.create_queue(QueueName=queue_name))["QueueUrl"]
        queue_arn = (
            await sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        )["Attributes"]["QueueArn"]
        await sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "false"},
        )
    return queue_url


async def start_local_broker(port: int | None = None) -> LocalBroker | None:
    """Start moto's server on a loopback port (a free one unless given) with the topic,
    the queue and the subscription; None when moto is not installed."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        return None
    # werkzeug logs every request at INFO: noise beside the API's own log.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = port or _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    await asyncio.to_thread(server.start)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        async with client("sns", endpoint) as sns:
            topic_arn = (await sns.create_topic(Name=TOPIC_NAME))["TopicArn"]
        queue_url = await subscribe_queue(endpoint, topic_arn, QUEUE_NAME)
    except BaseException:
        server.stop()
        raise
    return LocalBroker(endpoint, topic_arn, queue_url, server)
