"""A local stand-in for AWS in tests: moto's server mode in a subprocess on a free loopback
port, serving SQS (the sandbox's notification queue) and S3 (the documents storage) at once.

One per test session: the `moto` fixture (tests/conftest.py) starts it, unless
tests/settings.py already did for the documents storage (TEST_DOCUMENTS_S3=1); then its
address is in the environment (ENDPOINT_ENV) and every user, child processes included, shares
that one server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError

REPO_ROOT = Path(__file__).resolve().parent.parent
REGION = "eu-west-1"
# moto's account: every queue it makes belongs to it.
ACCOUNT = "123456789012"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# Where a server this session started (or was given) answers; children inherit it.
ENDPOINT_ENV = "TEST_MOTO_ENDPOINT_URL"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """A moto server: `endpoint_url`, SQS and S3 helpers, `stop()` (a no-op for a server this
    object did not start)."""

    def __init__(self, endpoint_url: str, *, process: subprocess.Popen | None = None) -> None:
        self.process = process
        self.endpoint_url = endpoint_url
        self.port = int(endpoint_url.rsplit(":", 1)[1])
        config = Config(connect_timeout=2, read_timeout=30, retries={"max_attempts": 1})
        self.client = self.sqs = boto3.client(
            "sqs", endpoint_url=endpoint_url, region_name=REGION, config=config, **CREDENTIALS
        )
        self.s3 = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=REGION,
            config=config.merge(Config(s3={"addressing_style": "path"})),
            **CREDENTIALS,
        )

    @classmethod
    def start(cls, log_dir: Path, *, timeout: float = 60) -> MotoServer:
        """Start moto's server and wait until it answers; RuntimeError otherwise."""
        port = free_port()
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"moto-{port}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                cwd=REPO_ROOT,
                env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = cls(f"http://127.0.0.1:{port}", process=process)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"moto's server exited:\n{log_path.read_text()}")
            try:
                server.sqs.list_queues()
                return server
            except BotoCoreError:
                time.sleep(0.1)
        server.stop()
        raise RuntimeError(f"moto's server did not answer within {timeout}s")

    @classmethod
    def shared(cls, log_dir: Path) -> MotoServer:
        """The session's server named by ENDPOINT_ENV, or a new one (its caller stops it)."""
        endpoint_url = os.environ.get(ENDPOINT_ENV)
        return cls(endpoint_url) if endpoint_url else cls.start(log_dir)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    # SQS

    def create_queue(self, name: str) -> tuple[str, str]:
        """Make (or find) a standard queue; returns its URL and ARN."""
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"

    def purge(self, url: str) -> None:
        """Empty the queue, in flight messages included (moto purges at once)."""
        self.sqs.purge_queue(QueueUrl=url)

    def send(self, url: str, body: object) -> str:
        """Put a message on the queue as Amazon would (a dict is sent as JSON)."""
        text = body if isinstance(body, str) else json.dumps(body)
        return self.sqs.send_message(QueueUrl=url, MessageBody=text)["MessageId"]

    def messages(self, url: str) -> int:
        """Messages in the queue, visible or in flight."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def receive(self, url: str, *, wait: float = 0) -> list[dict]:
        """Take what is visible now (or within `wait` seconds), leaving it in flight briefly."""
        return self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=int(wait), VisibilityTimeout=1
        ).get("Messages", [])

    # S3

    def create_bucket(self, name: str) -> str:
        """Make (or find) a private bucket in REGION; returns its name."""
        try:
            self.s3.create_bucket(
                Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
        except self.s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """The keys of the bucket's objects under `prefix`, sorted."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def object(self, bucket: str, key: str) -> dict[str, Any]:
        """get_object's answer, the body read: {"Body": bytes, ...}."""
        answer = self.s3.get_object(Bucket=bucket, Key=key)
        return {**answer, "Body": answer["Body"].read()}

    def documents_env(self, bucket: str, prefix: str = "") -> dict[str, str]:
        """The product's environment for a documents storage in `bucket` on this server."""
        return {
            "DOCUMENTS_S3_BUCKET": bucket,
            "DOCUMENTS_S3_PREFIX": prefix,
            "DOCUMENTS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": REGION,
        }
