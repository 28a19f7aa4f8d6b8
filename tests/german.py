"""Pages in German: what the tests of the translated pages share.

The compiled catalogue (`.mo`) is built, not committed. `compiled_catalogue` builds it when it is
missing or older than its `.po`, and then makes Django read the catalogues again, so the tests
of the German pages run from a fresh clone too.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils.translation import trans_real

LOCALE = Path(__file__).resolve().parent.parent / "locale"
GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9,en;q=0.5"}


@pytest.fixture(scope="session")
def compiled_catalogue() -> None:
    stale = [
        po
        for po in LOCALE.glob("*/LC_MESSAGES/*.po")
        if not po.with_suffix(".mo").exists()
        or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale:
        call_command("compilemessages", locale=["de"], verbosity=0)
        # Catalogues are read once per process: forget those read before the build.
        trans_real._translations = {}
        trans_real._default = None


def page_text(response) -> str:
    """The page's visible text, tags and entities resolved, whitespace collapsed."""
    body = response.content.decode()
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def assert_german(response, *, german: list[str], english: list[str]) -> None:
    """The page answered 200 with each of `german` and none of `english` in its text."""
    assert response.status_code == 200
    assert response["Content-Language"] == "de"
    text = page_text(response)
    missing = [word for word in german if word not in text]
    left = [word for word in english if word in text]
    assert not missing, f"German words missing: {missing}"
    assert not left, f"English words left: {left}"
