"""The SQS queue Amazon pushes this installation's notifications to, through boto3.

Every call to the queue goes through here, with a timeout on every request: reading the
queue's ARN for Amazon's destination, taking messages with a long poll, and deleting the
handled ones. boto3 finds credentials and region the standard way (environment, instance
role); `PUSH_SQS_ENDPOINT_URL` (AWS_ENDPOINT_URL_SQS) points it at an SQS-compatible server.
Failures are raised as `NotificationQueueUnavailable`, never as botocore's exceptions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from amazon_settings.exceptions import NotificationQueueUnavailable, PushNotConfigured

# sqs.<region>.amazonaws.com/<account>/<name>: AWS's queue URLs name their region.
_AWS_QUEUE_URL = re.compile(r"^https://sqs\.([a-z0-9-]+)\.amazonaws\.com/")
# SQS takes at most ten messages per receive and per batch delete.
MAX_BATCH = 10


@dataclass(frozen=True)
class QueueMessage:
    """One message taken from the queue: it stays hidden from other consumers until it is
    deleted or its visibility timeout ends (then it comes back, `receive_count` one higher)."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int


def push_configured() -> bool:
    """Whether this installation has a notification queue (PUSH_SQS_QUEUE_URL)."""
    return bool(settings.PUSH_SQS_QUEUE_URL)


def _queue_url() -> str:
    if not push_configured():
        raise PushNotConfigured(
            "Push is not set up on this installation: set PUSH_SQS_QUEUE_URL (see the README)."
        )
    return settings.PUSH_SQS_QUEUE_URL


@cache
def _client(endpoint_url: str, region: str, read_timeout: int) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=endpoint_url or None,
        region_name=region or None,
        config=Config(
            connect_timeout=10,
            read_timeout=read_timeout,
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    )


def sqs_client() -> Any:
    """boto3's SQS client for the queue: its region from the queue's URL when AWS's, else
    boto3's configuration. Reads wait longer than the consumer's long poll."""
    match = _AWS_QUEUE_URL.match(settings.PUSH_SQS_QUEUE_URL)
    return _client(
        settings.PUSH_SQS_ENDPOINT_URL,
        match.group(1) if match else "",
        settings.PUSH_SQS_WAIT_SECONDS + 10,
    )


def _unavailable(action: str, error: Exception) -> NotificationQueueUnavailable:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        detail = f"{code}: {message}".strip(": ")
    else:
        detail = type(error).__name__
    return NotificationQueueUnavailable(f"The notification queue could not {action} ({detail}).")


def queue_arn() -> str:
    """The queue's ARN, for Amazon's destination: PUSH_SQS_QUEUE_ARN, or asked from SQS.
    Raises PushNotConfigured or NotificationQueueUnavailable."""
    url = _queue_url()
    if settings.PUSH_SQS_QUEUE_ARN:
        return settings.PUSH_SQS_QUEUE_ARN
    try:
        attributes = sqs_client().get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    except (BotoCoreError, ClientError) as error:
        raise _unavailable("tell its ARN", error) from None
    return attributes["Attributes"]["QueueArn"]


def receive_messages(*, wait_seconds: int, max_messages: int = MAX_BATCH) -> list[QueueMessage]:
    """Take up to `max_messages` messages, waiting up to `wait_seconds` for the first (SQS long
    polling). Each stays hidden for PUSH_SQS_VISIBILITY_SECONDS unless deleted."""
    try:
        answer = sqs_client().receive_message(
            QueueUrl=_queue_url(),
            MaxNumberOfMessages=min(MAX_BATCH, max_messages),
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=settings.PUSH_SQS_VISIBILITY_SECONDS,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
    except (BotoCoreError, ClientError) as error:
        raise _unavailable("be read", error) from None
    return [
        QueueMessage(
            message_id=m["MessageId"],
            receipt_handle=m["ReceiptHandle"],
            body=m.get("Body", ""),
            receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
        )
        for m in answer.get("Messages", [])
    ]


def delete_messages(messages: Iterable[QueueMessage]) -> None:
    """Delete handled messages, ten per call. A message whose delete fails comes back later and
    is handled again, which changes nothing."""
    pending = list(messages)
    for start in range(0, len(pending), MAX_BATCH):
        batch = pending[start : start + MAX_BATCH]
        try:
            sqs_client().delete_message_batch(
                QueueUrl=_queue_url(),
                Entries=[
                    {"Id": str(index), "ReceiptHandle": m.receipt_handle}
                    for index, m in enumerate(batch)
                ],
            )
        except (BotoCoreError, ClientError) as error:
            raise _unavailable("delete handled messages", error) from None
