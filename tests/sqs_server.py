"""The local SQS-compatible server for tests: tests/moto_server.py's server, which serves SQS
and S3 at once. Kept under this name for the SQS users (the sandbox, make reliability)."""

from __future__ import annotations

from tests.moto_server import ACCOUNT, CREDENTIALS, REGION, MotoServer

SqsServer = MotoServer

__all__ = ["ACCOUNT", "CREDENTIALS", "REGION", "SqsServer"]
