"""Reading Amazon report documents: rows by column name (the cells: `orders.importers.cells`).

Facts used here, as real report files and public parsers show them (the samples and their
sources are listed in tests/data/PROVENANCE.md):

* Flat files are TAB-separated but not reliably CSV-quoted: real DE/IN files carry bare `"`
  inside unquoted values, while Amazon's own documentation sample quotes a multi-line product
  name. So a row is split on tabs, and only a row with too few fields is re-read quote-aware.
* Column names vary in case and spelling (`Ship-address-2`, `delivery-Instructions`,
  `Quantity Available`, the VCS docs' `MarketplaceID` for the files' `Marketplace ID`). Names
  are matched on a key without case, spaces, hyphens or underscores; unknown columns are kept
  and ignored, and trailing unnamed header fields are dropped.

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
from typing import TextIO, TypeVar

from orders.importers.base import DocumentRejected

Columns = TypeVar("Columns", bound=tuple)  # a NamedTuple class of column names


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

    def columns(self, names: type[Columns]) -> Callable[[list[str]], Columns]:
        """A function from a row's fields to `names`, a NamedTuple whose field names are column
        names as `column_key` matches them (`order_item_id` reads `order-item-id`), each value
        stripped; a column the header lacks reads as "". One C call per row picks them all."""
        pick = self.picker(names._fields)
        make = names._make
        strip = str.strip
        return lambda fields: make(map(strip, pick(fields)))


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


def text_stream(text: str) -> TextIO:
    """A text stream over a string, as the pipeline passes documents (for tests and tools)."""
    return io.StringIO(text, newline="")
