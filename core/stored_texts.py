"""Texts the worker stores for people to read later (a report's last error and history, why
push does not work), in the reader's language.

The worker writes them in English, since it does not know who will read them; a page
translates them when it shows them. Each is built from a template the app registers here
(marked with `gettext_noop`, so it is in the catalogue), and `translate_stored` recognises a
stored text by its template, translates the template and puts the stored values back in. A
value that is itself a stored text (an error inside "Gave up after …", a duration) is
translated too; Amazon's own words and anything not built from a template stay as they were.
A moment inside a stored text is stored in UTC (`stored_moment`) and shown in the reader's time
zone and date format.

A template may say that a placeholder holds one of a few other templates' texts (`choices`):
"%(headline)s (%(facts)s)" then fits only a text that starts with one of the headlines, however
many parentheses the rest has. A `verbatim` placeholder keeps its value as stored (a remote
system's own words, which no catalogue holds).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from django.utils import timezone
from django.utils.translation import gettext, ngettext

from core.templatetags.moments import moment

_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
_TEMPLATES: list[str] = []
_PLURALS: list[tuple[str, str]] = []
_CHOICES: dict[str, Mapping[str, Sequence[str]]] = {}
_VERBATIM: dict[str, Collection[str]] = {}
_STORED_MOMENT = "%Y-%m-%dT%H:%MZ"
_STORED_MOMENT_PATTERN = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\dZ")


def register(
    *templates: str,
    choices: Mapping[str, Sequence[str]] | None = None,
    verbatim: Collection[str] = (),
) -> None:
    """Make texts built from `templates` (placeholders `%(name)s` only) translatable when
    shown. `choices` names placeholders whose value is built from one of the given templates
    (register those too); `verbatim` names placeholders shown as stored. Idempotent."""
    for template in templates:
        if template not in _TEMPLATES:
            _TEMPLATES.append(template)
        if choices:
            _CHOICES[template] = choices
        if verbatim:
            _VERBATIM[template] = verbatim
    _pattern.cache_clear()
    _template_index.cache_clear()


def register_plural(singular: str, plural: str) -> None:
    """The same for a text with a count (its placeholder `count`): "%(count)d minutes"."""
    if (singular, plural) not in _PLURALS:
        _PLURALS.append((singular, plural))


def stored_moment(at: datetime) -> str:
    """A moment as a value of a stored text: UTC, to the minute ("2026-12-06T14:05Z"), which
    `translate_stored` shows in the reader's time zone and format."""
    return at.astimezone(UTC).strftime(_STORED_MOMENT)


def _shown_moment(value: str) -> str:
    at = datetime.strptime(value, _STORED_MOMENT).replace(tzinfo=UTC)
    return moment(timezone.localtime(at))


def stored_text(template: str, **values: object) -> str:
    """The English text to store: `template` with its values."""
    return template % {name: str(value) for name, value in values.items()}


def _regex(template: str, *, groups: bool) -> str:
    """`template` as a regular expression; with `groups`, one named group per placeholder."""
    parts = _PLACEHOLDER.split(template)
    choices = _CHOICES.get(template, {}) if groups else {}
    regex = []
    # split() alternates literal text and placeholder names.
    for index, part in enumerate(parts):
        if index % 2 == 0:
            regex.append(re.escape(part))
            continue
        options = choices.get(part)
        value = (
            "|".join(f"(?:{_regex(option, groups=False)})" for option in options)
            if options
            else ".*?"
        )
        regex.append(f"(?P<{part}>{value})" if groups else f"(?:{value})")
    return "".join(regex)


@cache
def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(_regex(template, groups=True), re.S)


# Templates are found by the first and last characters of their literal text: a text can
# only be built from a template whose literal start (or end) it starts (or ends) with.
_ENDS = 6


@dataclass(frozen=True)
class _TemplateIndex:
    by_start: dict[str, tuple[int, ...]]  # first characters -> positions in _TEMPLATES
    by_end: dict[str, tuple[int, ...]]  # last characters, for those that start with a value
    unindexed: tuple[int, ...]  # short literal text at both ends: always tried


@cache
def _template_index() -> _TemplateIndex:
    by_start: dict[str, list[int]] = {}
    by_end: dict[str, list[int]] = {}
    unindexed = []
    for position, template in enumerate(_TEMPLATES):
        parts = _PLACEHOLDER.split(template)
        start, end = parts[0], parts[-1] if len(parts) > 1 else parts[0]
        if len(start) >= _ENDS:
            by_start.setdefault(start[:_ENDS], []).append(position)
        elif len(end) >= _ENDS:
            by_end.setdefault(end[-_ENDS:], []).append(position)
        else:
            unindexed.append(position)
    return _TemplateIndex(
        {key: tuple(value) for key, value in by_start.items()},
        {key: tuple(value) for key, value in by_end.items()},
        tuple(unindexed),
    )


def _candidate_templates(text: str) -> list[str]:
    """The registered templates `text` may be built from, in the order they were registered
    (the first that matches wins, as when every template was tried)."""
    index = _template_index()
    positions = {
        *index.by_start.get(text[:_ENDS], ()),
        *index.by_end.get(text[-_ENDS:], ()),
        *index.unindexed,
    }
    return [_TEMPLATES[position] for position in sorted(positions)]


def translate_stored(text: str) -> str:
    """`text` in the active language, if it was built from a registered template; else as is."""
    if not text:
        return text
    if _STORED_MOMENT_PATTERN.fullmatch(text):
        return _shown_moment(text)
    for singular, plural in _PLURALS:
        for form in (singular, plural):
            match = _pattern(form).fullmatch(text)
            if match and match["count"].isdigit():
                count = int(match["count"])
                return ngettext(singular, plural, count) % {"count": count}
    # A page shows dozens of stored texts (a report's history) and some 90 templates are
    # registered: trying each one's regex cost about 25 us a text.
    for template in _candidate_templates(text):
        match = _pattern(template).fullmatch(text)
        if match:
            verbatim = _VERBATIM.get(template, ())
            values = {
                name: value if name in verbatim else translate_stored(value)
                for name, value in match.groupdict().items()
            }
            return gettext(template) % values
    return gettext(text)
