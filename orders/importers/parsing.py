"""Reading Amazon report documents: rows by column name, Amazon's dates, numbers and ids.

Facts used here, as real report files and public parsers show them (the samples and their
sources are listed in tests/data/PROVENANCE.md):

* Flat files are TAB-separated but not reliably CSV-quoted: real DE/IN files carry bare `"`
  inside unquoted values, while Amazon's own documentation sample quotes a multi-line product
  name. So a row is split on tabs, and only a row with too few fields is re-read quote-aware.
* Column names vary in case and spelling (`Ship-address-2`, `delivery-Instructions`,
  `Quantity Available`, the VCS docs' `MarketplaceID` for the files' `Marketplace ID`). Names
  are matched on a key without case, spaces, hyphens or underscores; unknown columns are kept
  and ignored, and trailing unnamed header fields are dropped.
* Ids are strings (leading zeros); Excel-touched files show ids as `5.80293E+13`, which have
  lost digits, so they are a row error rather than a guess.

Everything streams: rows are produced one at a time from the text stream.
"""

from __future__ import annotations

import csv
import functools
import io
import operator
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import TextIO

from orders.importers.base import DocumentRejected


class RowProblem(ValueError):
    """A value in a row cannot be read; the message is the reason shown to the seller."""


@functools.lru_cache(maxsize=4096)
def column_key(name: str) -> str:
    """The matching key of a column name: lower case, letters and digits only.

    Cached: every `Row.get` asks for the key of a constant column name.
    """
    return re.sub(r"[^0-9a-z]", "", name.strip().lstrip("\ufeff").lower())


# Renamed or localized headers, by matching key -> the canonical Amazon name. column_key
# already folds case and spelling variants (`Ship-address-2`, `delivery-Instructions`, the VCS
# docs' CamelCase `MarketplaceID`) onto one key. Localized headers exist (the Ruby client
# peddler's tests read a Chinese listings header) but none of an imported report type has been
# seen in a source yet; add them here when one is, never guessed.
COLUMN_ALIASES: dict[str, str] = {}


class Row:
    """One data row: its fields, the header's positions by column key, and where it starts.

    Fields are kept as the line split them and stripped when read, so a row costs one split;
    `text` is the row as the document wrote it (what an import digest is taken of).
    """

    __slots__ = ("fields", "index", "line", "text")

    def __init__(self, line: int, fields: list[str], index: dict[str, int], text: str = ""):
        self.line = line
        self.fields = fields
        self.index = index
        self.text = text

    def get(self, column: str, default: str = "") -> str:
        position = self.index.get(column_key(column))
        return default if position is None else self.fields[position].strip()

    def has(self, column: str) -> bool:
        return column_key(column) in self.index


@dataclass(frozen=True)
class Table:
    """A parsed header plus a lazy iterator over the data rows."""

    index: dict[str, int]  # column key -> position in a row's fields
    rows: Iterator[Row]

    def require(self, *required: str) -> None:
        """Raise DocumentRejected naming every required column the header lacks."""
        missing = [name for name in required if column_key(name) not in self.index]
        if missing:
            raise DocumentRejected(f"The document lacks the required columns: {', '.join(missing)}")

    def has(self, column: str) -> bool:
        return column_key(column) in self.index

    def picker(self, columns: Iterable[str]) -> Callable[[list[str]], tuple[str, ...]]:
        """A function from a row's fields to the raw (unstripped) values of `columns`, in
        that order; a column the header lacks reads as "". For importers that read many
        columns of many rows: one C call per row instead of one lookup per value."""
        # Every row's fields end with an empty sentinel (see _padded): absent columns read it.
        positions = [self.index.get(column_key(name), -1) for name in columns]
        if len(positions) == 1:
            position = positions[0]
            return lambda fields: (fields[position],)
        return operator.itemgetter(*positions)


def _header_index(fields: list[str]) -> dict[str, int]:
    """Positions by column key; a name that appears twice means its last column. Unnamed
    fields (some headers end with many, the MWS sample has 19) are left out."""
    index = {}
    for position, name in enumerate(fields):
        key = column_key(name)
        if key:
            index[column_key(COLUMN_ALIASES.get(key, key))] = position
    return index


def _without_nul(stream: TextIO) -> Iterator[str]:
    """The lines without NUL characters: no real report has them, a damaged file may, and
    PostgreSQL refuses them in text (also in the lookups of ids)."""
    for line in stream:
        yield line.replace("\x00", "") if "\x00" in line else line


def _lines(stream: TextIO) -> Iterator[str]:
    for line in _without_nul(stream):
        yield line.rstrip("\r\n")


def read_tsv(stream: TextIO) -> Table:
    """Parse a TAB-separated Amazon flat file. Raises DocumentRejected without a header."""
    lines = _lines(stream)
    header_line = next(lines, None)
    if header_line is None or not header_line.strip():
        raise DocumentRejected("The document is empty: it has no header line.")
    index = _header_index(header_line.split("\t"))
    if not index:
        raise DocumentRejected("The document has no column names in its first line.")
    return Table(index=index, rows=_tsv_rows(lines, index))


def _tsv_rows(lines: Iterator[str], index: dict[str, int]) -> Iterator[Row]:
    width = max(index.values()) + 1
    line_number = 1
    for text in lines:
        line_number += 1
        start = line_number
        if not text.strip():
            continue
        fields = text.split("\t")
        if len(fields) < width and '"' in text:
            # Too few fields and a quote: a quoted value may span lines (Amazon's doc sample).
            fields, text, extra = _quote_aware(text, lines, width)
            line_number += extra
        yield Row(start, _padded(fields, width), index, text)


def _ends_inside_quotes(text: str) -> bool:
    """Whether the text ends inside a quoted value: its last field opens a quote it never closes.

    A quote inside an unquoted value (`12" Pizza`, as DE/IN files have them) opens nothing, so
    the next line is a row of its own and must not be joined to this one.
    """
    last = text.rsplit("\t", 1)[-1]
    return last.startswith('"') and last.count('"') % 2 == 1


def _quote_aware(text: str, lines: Iterator[str], width: int) -> tuple[list[str], str, int]:
    extra = 0
    while True:
        try:
            fields = next(csv.reader([text], delimiter="\t", quotechar='"', strict=False), [])
        except csv.Error:
            # Not CSV quoting after all (e.g. a line break in an unquoted value): plain tabs.
            return text.split("\t"), text, extra
        if len(fields) >= width or not _ends_inside_quotes(text):
            return fields, text, extra
        following = next(lines, None)
        if following is None:
            return fields, text, extra
        text = f"{text}\n{following}"
        extra += 1


def _padded(fields: list[str], width: int) -> list[str]:
    """The fields, with "" for the columns a short row lacks (fields beyond the header are
    kept and never read), and one more "" at the end: what absent columns read (`picker`)."""
    if len(fields) < width:
        fields.extend([""] * (width - len(fields)))
    fields.append("")
    return fields


def read_csv(stream: TextIO) -> Table:
    """Parse a comma-separated, quoted file (the VCS report). Raises DocumentRejected."""
    reader = csv.reader(_without_nul(stream))
    try:
        header = next(reader, None)
        if header and len(header) == 1 and "," in header[0]:
            # Some downloads wrap each whole line in quotes, inner quotes doubled, as public
            # importers written against real VCS files report.
            header = next(csv.reader([header[0]]))
    except csv.Error as exc:
        raise DocumentRejected(f"The header line cannot be read as CSV: {exc}") from exc
    if not header or not any(h.strip() for h in header):
        raise DocumentRejected("The document is empty: it has no header line.")
    index = _header_index(header)
    if not index:
        raise DocumentRejected("The document has no column names in its first line.")
    return Table(index=index, rows=_csv_rows(reader, index))


def _csv_rows(reader: Iterable[list[str]], index: dict[str, int]) -> Iterator[Row]:
    width = max(index.values()) + 1
    line_number = 1
    try:
        for fields in reader:
            start = line_number + 1
            line_number = reader.line_num  # type: ignore[attr-defined]
            if not any(f.strip() for f in fields):
                continue
            if len(fields) == 1 and width > 1 and "," in fields[0]:
                fields = next(csv.reader([fields[0]]))
            yield Row(start, _padded(fields, width), index)
    except csv.Error as exc:
        # csv cannot go on past such a record (e.g. a field over its 128 KiB limit), so the
        # whole document is refused rather than imported without the rest.
        raise DocumentRejected(f"Line {line_number + 1} cannot be read as CSV: {exc}") from exc


@dataclass(frozen=True)
class XmlMessage:
    """One `Message` of an AmazonEnvelope, with the line its start tag is on."""

    line: int
    element: ET.Element


def iter_xml_messages(stream: TextIO, *, message_tag: str = "Message") -> Iterator[XmlMessage]:
    """Stream the `Message` elements of an AmazonEnvelope, clearing each after use.

    The document is fed line by line to a pull parser, so memory stays flat and each message
    knows its line. Raises DocumentRejected when the document is not XML or not an envelope.
    """
    parser = ET.XMLPullParser(events=("start", "end"))
    root_seen = False
    root: ET.Element | None = None
    start_line = 0
    line_number = 0
    try:
        for line in stream:
            line_number += 1
            parser.feed(line)
            for event, element in parser.read_events():
                if event == "start":
                    if root is None:
                        root = element
                        root_seen = True
                    elif element.tag == message_tag:
                        start_line = line_number
                elif element.tag == message_tag:
                    yield XmlMessage(line=start_line, element=element)
                    element.clear()
                    if root is not None and len(root) and root[-1] is element:
                        root.remove(element)
        parser.close()
    except ET.ParseError as exc:
        raise DocumentRejected(f"The document is not well-formed XML: {exc}") from exc
    if not root_seen:
        raise DocumentRejected("The document is empty: it has no XML root element.")


def xml_text(element: ET.Element, path: str) -> str:
    found = element.find(path)
    return (found.text or "").strip() if found is not None else ""


# ---------------------------------------------------------------------------------------------
# Values

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
        raise RowProblem(f"{column}: {value!r} is not a date")
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
        raise RowProblem(f"{column}: {value!r} is not a number") from None
    if not number.is_finite():
        raise RowProblem(f"{column}: {value!r} is not a number")
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
        raise RowProblem(f"{column}: {value!r} is more than any amount Amazon reports")
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
            raise RowProblem(f"{column}: {value!r} is not a whole number of units")
        quantity = int(number)
    if quantity > MAX_QUANTITY:
        raise RowProblem(f"{column}: {value!r} is more units than any order holds")
    return quantity


# Amazon order ids are 19 characters (3-7-7); the columns that hold them take 32. A longer one
# is a row error: cut, two ids could become one.
ORDER_ID_MAX_LENGTH = 32


def parse_id(value: str, *, column: str = "id", required: bool = True, max_length: int = 40) -> str:
    """An Amazon id kept as text. Raises RowProblem for an empty required id, an id longer than
    its column holds (cutting it could merge two ids), or an id in scientific notation (an
    Excel round trip dropped its digits)."""
    text = value.strip()
    if not text:
        if required:
            raise RowProblem(f"{column} is empty")
        return ""
    if len(text) > max_length:
        raise RowProblem(f"{column} is {len(text)} characters long; at most {max_length} fit")
    if ("E" in text or "e" in text) and _SCIENTIFIC.match(text):
        raise RowProblem(
            f"{column}: {value!r} is in scientific notation (the file went through a "
            "spreadsheet and lost digits)"
        )
    return text


def parse_bool(value: str) -> bool:
    return value.strip().lower() in {"true", "yes", "y", "1", "ja", "wahr"}


def fallback_item_id(sku: str, occurrence: int) -> str:
    """The item key for a report without item ids: see OrderItem's docstring."""
    return f"sku:{sku}#{occurrence}"


def text_stream(text: str) -> TextIO:
    """A text stream over a string, as the pipeline passes documents (for tests and tools)."""
    return io.StringIO(text, newline="")
