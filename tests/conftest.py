from __future__ import annotations

import socket

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation

pytest_plugins = ["tests.amazon_fixtures"]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Tests run with compiled catalogues, as `make install` builds them: a missing or stale
    .mo (a .po edited since) is compiled first."""
    from scripts.compile_messages import compile_catalogues

    compile_catalogues()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow tests (servers, subprocesses, browsers) go first, the rest keep their order:
    spread over pytest-xdist's processes, a long test that starts last would leave the other
    processes idle at the end of the run."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: one that activates German (a page request
    under LocaleMiddleware, a test of the German texts) must not leave it to the next test of
    the same process, whose English assertions would then depend on the order of the tests."""

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def user(db):
    """An Operator: may look and change (core/roles.py), as most tests need."""
    from core.roles import OPERATORS, setup_roles

    user = get_user_model().objects.create_user(username="seller", password="correct horse 42")
    user.groups.add(setup_roles()[OPERATORS])
    return user


@pytest.fixture
def logged_in_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def viewer(db):
    """A Viewer: may look at every page, change nothing."""
    from core.roles import VIEWERS, setup_roles

    viewer = get_user_model().objects.create_user(username="viewer", password="correct horse 43")
    viewer.groups.add(setup_roles()[VIEWERS])
    return viewer


@pytest.fixture
def viewer_client(viewer):
    from django.test import Client

    client = Client()
    client.force_login(viewer)
    return client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    """The session's local AWS stand-in (moto's server mode, tests/moto_server.py) on a free
    loopback port, serving SQS and S3: the one tests/settings.py started for the documents
    storage (TEST_DOCUMENTS_S3=1), or a new one."""
    from tests.moto_server import MotoServer

    server = MotoServer.shared(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqs(moto):
    """The local SQS-compatible server: where the sandbox pushes Amazon's notifications."""
    return moto


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory, sqs):
    """A running Amazon sandbox (tests/sandbox_server.py) on a free loopback port, publishing
    its notifications to the `sqs` server.

    Session-scoped: tests that need a clean sandbox call `sandbox.reset()` first. The time
    factor makes a report finish about a second after it is requested.
    """
    from tests.sandbox_server import SandboxServer

    server = SandboxServer.start(
        tmp_path_factory.mktemp("amazon-sandbox"),
        time_factor=120,
        env={
            "SANDBOX_SQS_ENDPOINT_URL": sqs.endpoint_url,
            "SANDBOX_NOTIFICATION_INTERVAL_SECONDS": "0.1",
        },
    )
    yield server
    server.stop()
