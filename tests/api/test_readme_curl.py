"""The README's first sync with curl, as written: every command's path and parameters answer
200 to a token made as the README says (read_orders), with the README's own example cursors,
and each answer matches the served schema. The README's shell blocks are read like the
deployment test reads its section (tests/deployment/test_readme_postgres.py)."""

from __future__ import annotations

import shlex
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.conf import settings
from django.test import Client

from api.services import create_token
from tests.orders.conftest import NOW, render, run_import

pytestmark = pytest.mark.django_db

SECTION = "### REST API for ERPs, shops and shipping tools"
MFN = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"


def readme_curls() -> list[list[str]]:
    """Every curl command of the section's shell blocks, split as the shell would."""
    text = (Path(settings.BASE_DIR) / "README.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION) + len(SECTION) :]
    section = section[: section.index("\n### ")]
    commands = []
    for block in section.split("```sh\n")[1:]:
        block = block[: block.index("```")].replace("\\\n", " ")
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                assert words[0] == "curl", line
                commands.append(words)
    return commands


def test_the_readme_shows_the_list_and_the_changes_with_their_cursors():
    urls = [words[-1] for words in readme_curls()]
    paths = [urlsplit(url).path for url in urls]
    assert paths.count("/api/v1/orders") >= 2 and paths.count("/api/v1/orders/changes") >= 2
    assert any("cursor=" in url for url in urls) and any("since=" in url for url in urls)


def test_every_curl_of_the_readme_answers_200_with_a_read_orders_token(account, contract):
    run_import(account, MFN, render(MFN, NOW.replace(day=1), NOW))
    _, secret = create_token(name="ERP", scopes=["read_orders"], acting_user=None)
    commands = readme_curls()
    assert len(commands) >= 4
    for words in commands:
        header = words[words.index("-H") + 1]
        assert header == "Authorization: Bearer $TOKEN"
        url = urlsplit(words[-1])
        assert (url.scheme, url.netloc) == ("http", "127.0.0.1:8000")
        client = Client(HTTP_AUTHORIZATION=header.split(": ", 1)[1].replace("$TOKEN", secret))
        response = client.get(url.path, dict(parse_qsl(url.query, strict_parsing=True)))
        assert response.status_code == 200, (words[-1], response.content[:300])
        body = contract.check(response, url.path)
        assert "next_cursor" in body
