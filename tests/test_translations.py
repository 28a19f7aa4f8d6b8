"""The German catalogue is complete and current: every string marked for translation in the
code and templates has a German translation, none is fuzzy, and each keeps its placeholders.

`make test` fails here when someone marks a new string without translating it. To fix it:

    .venv/bin/python manage.py makemessages -l de --ignore=.venv --ignore=node_modules \
        --ignore=var --ignore=tests --ignore=bench --ignore=test-artifacts --no-location

then fill in the new `msgstr` in locale/de/LC_MESSAGES/django.po.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

PO_PATH = Path(settings.BASE_DIR) / "locale" / "de" / "LC_MESSAGES" / "django.po"
IGNORED = [".venv", "node_modules", "var", "tests", "bench", "test-artifacts"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")


def problems_of(catalogue: polib.POFile) -> list[str]:
    """What keeps `catalogue` from being complete: untranslated, fuzzy, lost placeholders."""
    problems = []
    for entry in catalogue:
        if entry.obsolete:
            continue
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {entry.msgid!r}")
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        if not all(translation.strip() for translation in translations):
            problems.append(f"no German: {entry.msgid!r}")
            continue
        wanted = set(PLACEHOLDER.findall(entry.msgid))
        for translation in translations:
            if set(PLACEHOLDER.findall(translation)) != wanted:
                problems.append(f"placeholders differ: {entry.msgid!r} -> {translation!r}")
    return problems


def test_every_german_entry_is_translated_and_not_fuzzy():
    assert problems_of(polib.pofile(str(PO_PATH))) == []


def test_the_check_finds_a_missing_and_a_fuzzy_translation():
    catalogue = polib.POFile()
    catalogue.append(polib.POEntry(msgid="Reports", msgstr=""))
    catalogue.append(polib.POEntry(msgid="Orders", msgstr="Bestellungen", flags=["fuzzy"]))
    catalogue.append(polib.POEntry(msgid="Page %(number)s", msgstr="Seite"))
    assert problems_of(catalogue) == [
        "no German: 'Reports'",
        "fuzzy: 'Orders'",
        "placeholders differ: 'Page %(number)s' -> 'Seite'",
    ]


@pytest.mark.slow
def test_the_catalogue_holds_every_marked_string(tmp_path, monkeypatch):
    """makemessages (xgettext) into a copy of the catalogue: no msgid may be new or gone.

    It runs in a folder of links to the sources, so that it writes the copy beside them
    instead of the repository's catalogue."""
    copy = tmp_path / "locale" / "de" / "LC_MESSAGES" / "django.po"
    copy.parent.mkdir(parents=True)
    shutil.copy(PO_PATH, copy)
    for source in Path(settings.BASE_DIR).iterdir():
        if source.name not in {"locale", *IGNORED} and not source.name.startswith("."):
            (tmp_path / source.name).symlink_to(source)
    monkeypatch.chdir(tmp_path)
    with override_settings(LOCALE_PATHS=[tmp_path / "locale"]):
        call_command(
            "makemessages",
            locale=["de"],
            ignore_patterns=IGNORED,
            no_location=True,
            symlinks=True,
            verbosity=0,
        )
    extracted = {entry.msgid for entry in polib.pofile(str(copy)) if not entry.obsolete}
    committed = {entry.msgid for entry in polib.pofile(str(PO_PATH)) if not entry.obsolete}
    assert sorted(extracted - committed) == [], "run makemessages and translate the new strings"
    assert sorted(committed - extracted) == [], "run makemessages: these strings are gone"
