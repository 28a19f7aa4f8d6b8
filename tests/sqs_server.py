"""A local SQS-compatible server for tests: moto's server mode in a subprocess on a free
loopback port (`SqsServer.start()`), with helpers to make queues and read them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from tests.conftest import free_port
from tests.sandbox_server import REPO_ROOT

REGION = "eu-west-1"
# moto's account: every queue it makes belongs to it.
ACCOUNT = "123456789012"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class SqsServer:
    """A running moto server: `endpoint_url`, queue helpers, `stop()`."""

    def __init__(self, process: subprocess.Popen, *, port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.log_path = log_path
        self.endpoint_url = f"http://127.0.0.1:{port}"
        self.client = boto3.client(
            "sqs",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            config=Config(connect_timeout=2, read_timeout=30, retries={"max_attempts": 1}),
            **CREDENTIALS,
        )

    @classmethod
    def start(cls, log_dir: Path, *, timeout: float = 60) -> SqsServer:
        """Start moto's server and wait until it answers SQS calls; RuntimeError otherwise."""
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
        server = cls(process, port=port, log_path=log_path)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"moto's server exited:\n{log_path.read_text()}")
            try:
                server.client.list_queues()
                return server
            except BotoCoreError:
                time.sleep(0.1)
        server.stop()
        raise RuntimeError(f"moto's server did not answer within {timeout}s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def create_queue(self, name: str) -> tuple[str, str]:
        """Make (or find) a standard queue; returns its URL and ARN."""
        url = self.client.create_queue(QueueName=name)["QueueUrl"]
        return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"

    def purge(self, url: str) -> None:
        """Empty the queue, in flight messages included (moto purges at once)."""
        self.client.purge_queue(QueueUrl=url)

    def send(self, url: str, body: object) -> str:
        """Put a message on the queue as Amazon would (a dict is sent as JSON)."""
        text = body if isinstance(body, str) else json.dumps(body)
        return self.client.send_message(QueueUrl=url, MessageBody=text)["MessageId"]

    def messages(self, url: str) -> int:
        """Messages in the queue, visible or in flight."""
        attributes = self.client.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def receive(self, url: str, *, wait: float = 0) -> list[dict]:
        """Take what is visible now (or within `wait` seconds), leaving it in flight briefly."""
        return self.client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=int(wait), VisibilityTimeout=1
        ).get("Messages", [])
