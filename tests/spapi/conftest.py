"""Fixtures for the SP-API client's unit tests: Amazon's models, a fake token provider, a
session that records what it was asked, and a client wired to all three."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses

from amazon_settings.spapi import CallRecord, SpApiClient

from .support import ENDPOINT, USER_AGENT, FakeTokens, RecordingSession, load_model


@pytest.fixture(scope="session")
def reports_model() -> dict[str, Any]:
    return load_model("reports_2021-06-30.json")


@pytest.fixture(scope="session")
def sellers_model() -> dict[str, Any]:
    return load_model("sellers.json")


@pytest.fixture(scope="session")
def tokens_model() -> dict[str, Any]:
    return load_model("tokens_2021-03-01.json")


@pytest.fixture(scope="session")
def notifications_model() -> dict[str, Any]:
    return load_model("notifications.json")


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def tokens() -> FakeTokens:
    return FakeTokens()


@pytest.fixture
def session() -> RecordingSession:
    return RecordingSession()


@pytest.fixture
def records() -> list[CallRecord]:
    return []


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(
    tokens: FakeTokens, session: RecordingSession, records: list[CallRecord], sleeps: list[float]
) -> Callable[..., SpApiClient]:
    def make(**overrides: Any) -> SpApiClient:
        options: dict[str, Any] = {
            "token_provider": tokens,
            "session": session,
            "timeout": 12.5,
            "user_agent": USER_AGENT,
            "on_call": records.append,
            "sleep": sleeps.append,
            "random": lambda: 0.5,
        }
        options.update(overrides)
        return SpApiClient(ENDPOINT, **options)

    return make


@pytest.fixture
def client(make_client: Callable[..., SpApiClient]) -> SpApiClient:
    return make_client()
