"""Reading one cell of an Amazon report: dates, amounts, quantities, ids and flags.

Facts used here, as real report files and public parsers show them (the samples and their
sources are listed in tests/data/PROVENANCE.md): dates come in ISO 8601, as `27-Nov-2021 UTC`
(VCS) or day first with a German zone (`02/05/2020 05:18:00 MEST`); amounts use either decimal
mark; ids are strings (leading zeros), and Excel-touched files show them as `5.80293E+13`, which
have lost digits, so they are a row error rather than a guess.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from orders import stored_texts as texts


class RowProblem(ValueError):
    """A value in a row cannot be read; the message is the reason shown to the seller."""


_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")

# Zone abbreviations seen in Amazon files (the DE listings report: MET/MEST) and the usual
# English ones. Amazon writes the German MET/MEST for CET/CEST.
_ZONES = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "WET": 0,
    "BST": 1,
    "WEST": 1,
    "MET": 1,
    "CET": 1,
    "MEZ": 1,
    "MEST": 2,
    "CEST": 2,
    "MESZ": 2,
    "EET": 2,
    "EEST": 3,
    "JST": 9,
    "PST": -8,
    "PDT": -7,
    "MST": -7,
    "MDT": -6,
    "CST": -6,
    "CDT": -5,
    "EST": -5,
    "EDT": -4,
}
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})-([A-Za-z]{3})-(\d{4})(?:\s+(\d{1,2}):(\d{2}):(\d{2}))?$")
_SLASHED = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def parse_datetime(value: str, *, column: str = "date") -> datetime | None:
    """An Amazon date or timestamp as an aware UTC datetime; None for an empty value.

    Accepts ISO 8601 with an offset or `Z` (`2013-05-22T05:16:50+00:00`, `...-08:00`), a bare
    date (midnight UTC), `27-Nov-2021 UTC` (VCS) and `02/05/2020 05:18:00 MEST` (day first, as
    in DE files). A timestamp without any zone is taken as UTC. Raises RowProblem otherwise.
    """
    text = value.strip()
    if not text:
        return None
    zone = 0
    parts = text.rsplit(" ", 1)
    if len(parts) == 2 and parts[1].upper() in _ZONES:
        text, zone = parts[0].strip(), _ZONES[parts[1].upper()]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = _parse_named(text)
    if parsed is None:
        raise RowProblem(texts.stored_text(texts.NOT_A_DATE, column=column, value=repr(value)))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone(timedelta(hours=zone)))
    return parsed.astimezone(UTC)


def _parse_named(text: str) -> datetime | None:
    match = _DAY_MONTH_YEAR.match(text)
    try:
        if match:
            day, month_name, year, hour, minute, second = match.groups()
            month = _MONTHS.get(month_name.lower())
            if month is None:
                return None
            return datetime(  # noqa: DTZ001 - the caller attaches the zone
                int(year), month, int(day), int(hour or 0), int(minute or 0), int(second or 0)
            )
        match = _SLASHED.match(text)
        if match:
            day, month, year, hour, minute, second = match.groups()
            return datetime(  # noqa: DTZ001 - the caller attaches the zone
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
            )
    except ValueError:
        return None
    return None


def parse_date(value: str, *, column: str = "date") -> date | None:
    parsed = parse_datetime(value, column=column)
    return parsed.date() if parsed else None


def parse_decimal(value: str, *, column: str = "amount") -> Decimal | None:
    """A money amount as Decimal; None for an empty value. Raises RowProblem.

    Dot decimals are Amazon's norm; `1.234,56` and `16,99` (a comma as the decimal mark, as a
    localized file may have it) are read too. Ambiguous thousands are decided by the last
    separator: the one that comes last is the decimal mark.
    """
    text = value.strip().replace("\u00a0", "").replace(" ", "")
    if not text:
        return None
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        head, _, tail = text.rpartition(",")
        # "1,234" is ambiguous; Amazon writes amounts with two decimals, so three digits after
        # a single comma mean thousands.
        if len(tail) == 3 and head.lstrip("+-").isdigit() and text.count(",") == 1:
            text = head + tail
        else:
            text = text.replace(",", ".") if text.count(",") == 1 else text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise RowProblem(
            texts.stored_text(texts.NOT_A_NUMBER, column=column, value=repr(value))
        ) from None
    if not number.is_finite():
        raise RowProblem(texts.stored_text(texts.NOT_A_NUMBER, column=column, value=repr(value)))
    return number


_CENT = Decimal("0.01")
# Amounts read so far, by their text: a report repeats the same prices on thousands of rows.
# Bounded, so memory stays flat; Decimals are immutable, so sharing them is safe.
_MONEY_SEEN: dict[str, Decimal] = {}
_MONEY_SEEN_MAX = 20_000


def parse_money(value: str, *, column: str = "amount") -> Decimal:
    """Like parse_decimal, with an empty value as 0.00, rounded to cents."""
    found = _MONEY_SEEN.get(value)
    if found is not None:
        return found
    number = parse_decimal(value, column=column)
    if number is not None and abs(number) >= _MAX_AMOUNT:
        raise RowProblem(texts.stored_text(texts.TOO_MUCH_MONEY, column=column, value=repr(value)))
    found = Decimal("0.00") if number is None else number.quantize(_CENT)
    if len(_MONEY_SEEN) < _MONEY_SEEN_MAX:
        _MONEY_SEEN[value] = found
    return found


# What the quantity and amount columns hold (integer; numeric(14, 2)): a damaged file's
# bigger numbers are row errors, not a failed document.
MAX_QUANTITY = 2_147_483_647
_MAX_AMOUNT = Decimal("1e12")


def parse_quantity(value: str, *, column: str = "quantity") -> int:
    """A whole, non-negative number of units; empty is 0. Raises RowProblem."""
    if value.isascii() and value.isdigit():  # the usual case: plain digits
        quantity = int(value)
    else:
        number = parse_decimal(value, column=column)
        if number is None:
            return 0
        if number != number.to_integral_value() or number < 0:
            raise RowProblem(
                texts.stored_text(texts.NOT_WHOLE_UNITS, column=column, value=repr(value))
            )
        quantity = int(number)
    if quantity > MAX_QUANTITY:
        raise RowProblem(texts.stored_text(texts.TOO_MANY_UNITS, column=column, value=repr(value)))
    return quantity


def parse_id(value: str, *, column: str = "id", required: bool = True, max_length: int = 40) -> str:
    """An Amazon id kept as text. Raises RowProblem for an empty required id, an id longer than
    its column holds (cutting it could merge two ids), or an id in scientific notation (an
    Excel round trip dropped its digits)."""
    text = value.strip()
    if not text:
        if required:
            raise RowProblem(texts.stored_text(texts.EMPTY, column=column))
        return ""
    if len(text) > max_length:
        raise RowProblem(
            texts.stored_text(
                texts.TOO_LONG, column=column, length=len(text), max_length=max_length
            )
        )
    if ("E" in text or "e" in text) and _SCIENTIFIC.match(text):
        raise RowProblem(texts.stored_text(texts.SCIENTIFIC, column=column, value=repr(value)))
    return text


# Amazon order ids: three groups of digits, 3-7-7 ("123-1234567-1234567"); the 3-5-5 form of
# Amazon's older documentation samples ("103-26010-55904"); and orders of other sales channels
# in the All Orders reports, whose first group is S and two digits ("S01-1234567-1234567").
AMAZON_ORDER_ID = re.compile(r"^(?:(?:\d{3}|S\d{2})-\d{7}-\d{7}|\d{3}-\d{5}-\d{5})$")


def parse_order_id(value: str, *, column: str, max_length: int) -> str:
    """An Amazon order id (`parse_id`, and in one of Amazon's forms). Raises RowProblem for
    anything else: markup, a shifted column or a mangled id is no order of the seller's."""
    text = parse_id(value, column=column, max_length=max_length)
    if not AMAZON_ORDER_ID.fullmatch(text):
        raise RowProblem(
            texts.stored_text(texts.NOT_AN_ORDER_ID, column=column, value=repr(text[:40]))
        )
    return text


def parse_bool(value: str) -> bool:
    return value.strip().lower() in {"true", "yes", "y", "1", "ja", "wahr"}
