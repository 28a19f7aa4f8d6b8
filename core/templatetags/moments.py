"""The product's one format per kind, in the active language and time zone:

- `{{ value|moment }}`: a moment to the minute ("2025-03-01 14:05", German "01.03.2025 14:05");
- `{{ value|precise_moment }}`: to the second, for histories and logs;
- `{{ value|day }}`: a day ("2025-03-01", "01.03.2025");
- `{{ value|clock }}`: a time of day ("14:05:09").

The formats are the language's (config/formats: DATETIME_FORMAT, SECONDS_DATETIME_FORMAT,
DATE_FORMAT, TIME_FORMAT), so `{{ value|date }}` prints the same. They print through
`strftime` instead of Django's `DateFormat`, which is slow enough to matter on pages that
show several moments per row (the Processing page shows four on each of its 50 rows); the
formats use only letters without names of months or days, which strftime prints the same in
every locale. Empty values (None, "") print as "", as with `date`.
"""

from __future__ import annotations

from datetime import date, datetime, time
from functools import cache

from django import template
from django.conf import settings
from django.utils import formats
from django.utils.translation import get_language

register = template.Library()

# Django's format letters the product's formats use, as strftime directives.
_STRFTIME = {"Y": "%Y", "m": "%m", "d": "%d", "H": "%H", "i": "%M", "s": "%S"}


@cache
def strftime_format(format_type: str, language: str | None) -> str:
    """The language's `format_type` (e.g. "DATETIME_FORMAT") as a strftime pattern."""
    django_format = formats.get_format(format_type, lang=language)
    pattern = []
    for letter in django_format:
        if letter.isalpha() and letter not in _STRFTIME:
            raise ValueError(f"{format_type} {django_format!r}: {letter!r} is not supported")
        pattern.append(_STRFTIME.get(letter, letter.replace("%", "%%")))
    return "".join(pattern)


def _format(value: date | time | None, format_type: str) -> str:
    if not value:
        return ""
    try:
        return value.strftime(
            strftime_format(format_type, get_language() or settings.LANGUAGE_CODE)
        )
    except AttributeError:
        return ""


@register.filter(expects_localtime=True, is_safe=False)
def moment(value: datetime | None) -> str:
    """`value` (converted to the current time zone by the template engine) to the minute."""
    return _format(value, "DATETIME_FORMAT")


@register.filter(expects_localtime=True, is_safe=False)
def precise_moment(value: datetime | None) -> str:
    """`value` in the current time zone, to the second."""
    return _format(value, "SECONDS_DATETIME_FORMAT")


@register.filter(expects_localtime=True, is_safe=False)
def day(value: date | None) -> str:
    """The day of `value` (a date, or a moment in the current time zone)."""
    return _format(value, "DATE_FORMAT")


@register.filter(expects_localtime=True, is_safe=False)
def clock(value: datetime | time | None) -> str:
    """The time of day of `value` in the current time zone, to the second."""
    return _format(value, "TIME_FORMAT")
