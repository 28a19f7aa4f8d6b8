"""Pure helpers that turn a downloaded report document into text.

A document is gzipped when ``getReportDocument`` says ``compressionAlgorithm: GZIP`` (the Reports
API model and Amazon's "Reports API v2021-06-30 use case guide"). Amazon labels documents with
Java charset names (``Cp1252``, ``windows-31j``, ``utf8``) and the labels are not always right
(amzn/selling-partner-api-models issues #2748 and #4955): documents labelled ``Cp1252`` hold
UTF-8, or ISO-8859-1 bytes that cp1252 leaves undefined. So the charset follows what the bytes
are (`choose_charset`), and the choice comes with its reason, for the report's history:

* a UTF-8 byte order mark, or bytes that are valid UTF-8 under a Western label (``Cp1252``,
  ``ISO-8859-1``, ``UTF-8``) or none, are read as UTF-8: text of a single-byte charset with
  letters beyond ASCII is practically never valid UTF-8, while UTF-8 read as cp1252 becomes
  "MÃ¼ller";
* other bytes under a Western label are read as windows-1252 the way browsers read it (the
  WHATWG Encoding Standard): the five bytes cp1252 leaves undefined become the characters of the
  same number, as in ISO-8859-1. That reading never fails;
* under any other label (``windows-31j``, ``UTF-16``) the label is followed when it decodes,
  else UTF-8 when the bytes are UTF-8; otherwise the document is refused, naming the first bad
  byte and what to do, because guessing a single-byte charset would garble the text silently.
"""

from __future__ import annotations

import codecs
import zlib
from dataclasses import dataclass

# gettext_noop marks the stored texts for the catalogue (`reports.stored_texts` registers
# `CHARSET_REASONS`).
from .errors import DocumentCorrupt, DocumentTooLarge, DocumentUndecodable, gettext_noop

UTF8_BOM = b"\xef\xbb\xbf"
DECODE_OPERATION = "Reports.decodeDocument"
GUNZIP_OPERATION = "Reports.downloadDocument"

# Java names Python does not know; everything else goes through codecs.lookup.
_JAVA_ALIASES = {
    "windows-31j": "cp932",
    "ms932": "cp932",
    "x-sjis": "shift_jis",
    "sjis": "shift_jis",
    "iso8859_1": "latin-1",
    "x-utf-16le-bom": "utf-16",
    "unicode": "utf-16",
}


def normalise_charset(label: str | None) -> str | None:
    """Map a charset label to Python's codec name, or None when unknown or not a text codec.

    ``Cp1252`` → ``cp1252``, ``windows-31j`` → ``cp932``, ``utf8``/``UTF-8`` → ``utf-8``.
    """
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    if not name:
        return None
    name = _JAVA_ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    # codecs also knows bytes-to-bytes codecs such as "base64" or "zlib": not charsets.
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


# The bytes cp1252 leaves undefined; browsers (WHATWG) read them as U+0081, U+008D, ...
CP1252_UNDEFINED = (0x81, 0x8D, 0x8F, 0x90, 0x9D)
WINDOWS_1252 = "windows-1252-whatwg"
# Labels whose documents are UTF-8 or windows-1252 in practice.
_WESTERN = {"utf-8", "cp1252", "latin-1", "iso8859-1", "ascii"}


def _windows_1252_table() -> str:
    table = []
    for byte in range(256):
        try:
            table.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            table.append(chr(byte))
    return "".join(table)


_DECODING_TABLE = _windows_1252_table()
_ENCODING_TABLE = codecs.charmap_build(_DECODING_TABLE)


class _Windows1252(codecs.Codec):
    def encode(self, text, errors="strict"):
        return codecs.charmap_encode(text, errors, _ENCODING_TABLE)

    def decode(self, data, errors="strict"):
        return codecs.charmap_decode(data, errors, _DECODING_TABLE)


class _Windows1252Incremental(codecs.IncrementalDecoder):
    def decode(self, data, final=False):
        return codecs.charmap_decode(data, self.errors, _DECODING_TABLE)[0]


class _Windows1252IncrementalEncoder(codecs.IncrementalEncoder):
    def encode(self, text, final=False):
        return codecs.charmap_encode(text, self.errors, _ENCODING_TABLE)[0]


class _Windows1252Reader(_Windows1252, codecs.StreamReader):
    pass


class _Windows1252Writer(_Windows1252, codecs.StreamWriter):
    pass


def _search_codec(name: str) -> codecs.CodecInfo | None:
    if name.replace("-", "_") != WINDOWS_1252.replace("-", "_"):
        return None
    return codecs.CodecInfo(
        name=WINDOWS_1252,
        encode=_Windows1252().encode,
        decode=_Windows1252().decode,
        incrementalencoder=_Windows1252IncrementalEncoder,
        incrementaldecoder=_Windows1252Incremental,
        streamreader=_Windows1252Reader,
        streamwriter=_Windows1252Writer,
    )


# Stored documents name the charset they are read with; every process that reads them imports
# this module (the report pipeline does), so the name is known wherever it is used.
codecs.register(_search_codec)


@dataclass(frozen=True)
class CharsetChoice:
    """The codec a document is read with, and why, in a sentence for the report's history."""

    charset: str
    reason: str


class CharsetFacts:
    """What `choose_charset` needs to know of a document's bytes, gathered a chunk at a time
    (`feed`), so that a file of any size is read once."""

    def __init__(self, label: str | None) -> None:
        self.label = label
        self.labelled = normalise_charset(label)
        self._head = b""
        self._read = 0
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self.utf8_failure: tuple[int, int] | None = None  # (offset, byte)
        self._label = (
            codecs.getincrementaldecoder(self.labelled)()
            if self.labelled and self.labelled not in _WESTERN
            else None
        )
        self.label_failure: tuple[int, int] | None = None
        self.ascii = True
        self.undefined_in_cp1252 = 0

    def feed(self, data: bytes) -> None:
        if len(self._head) < len(UTF8_BOM):
            self._head += data[: len(UTF8_BOM) - len(self._head)]
        if self.utf8_failure is None:
            self.utf8_failure = _failure(self._utf8, data, self._read)
        if self._label is not None and self.label_failure is None:
            self.label_failure = _failure(self._label, data, self._read)
        if self.ascii and not data.isascii():
            self.ascii = False
        if not self.ascii:
            self.undefined_in_cp1252 += sum(data.count(byte) for byte in CP1252_UNDEFINED)
        self._read += len(data)

    def finish(self) -> CharsetFacts:
        for attribute, decoder in (("utf8_failure", self._utf8), ("label_failure", self._label)):
            if decoder is not None and getattr(self, attribute) is None:
                setattr(self, attribute, _failure(decoder, b"", self._read, final=True))
        return self

    @property
    def has_bom(self) -> bool:
        return self._head == UTF8_BOM


def _failure(decoder, data: bytes, read: int, *, final: bool = False) -> tuple[int, int] | None:
    try:
        decoder.decode(data, final)
    except UnicodeDecodeError as error:
        bad = error.object[error.start] if error.start < len(error.object) else 0
        return read + error.start, bad
    return None


# Why a document is read with its charset, for the report's history: a sentence built from one
# of these, `named` being one of the first two.
LABELLED = gettext_noop("Amazon labelled it %(label)s")
UNLABELLED = gettext_noop("It came without a charset label")
BOM_UTF8 = gettext_noop("Read as UTF-8: it starts with UTF-8's mark.")
PLAIN_ASCII = gettext_noop("%(named)s; it is plain ASCII, read as UTF-8.")
UTF8_AS_NAMED = gettext_noop("%(named)s; read as UTF-8, which its bytes are.")
UTF8_DESPITE_LABEL = gettext_noop(
    "%(named)s, but its bytes are valid UTF-8: read as UTF-8 (as %(label)s its letters beyond "
    'ASCII would be garbled, e.g. "MÃ¼ller").'
)
WINDOWS_1252_READ = gettext_noop("%(named)s; its bytes are not UTF-8: read as windows-1252.")
WINDOWS_1252_UNDEFINED_BYTE = gettext_noop(
    "%(named)s; its bytes are not UTF-8: read as windows-1252, with %(undefined)s byte that "
    "cp1252 leaves undefined read as ISO-8859-1, as browsers do."
)
WINDOWS_1252_UNDEFINED_BYTES = gettext_noop(
    "%(named)s; its bytes are not UTF-8: read as windows-1252, with %(undefined)s bytes that "
    "cp1252 leaves undefined read as ISO-8859-1, as browsers do."
)
AS_LABELLED = gettext_noop("%(named)s; read as labelled.")
UTF8_NOT_LABELLED = gettext_noop("%(named)s, but its bytes are UTF-8: read as UTF-8.")
# The sentences first: LABELLED's pattern would take a whole sentence for its label.
CHARSET_REASONS = (
    BOM_UTF8,
    PLAIN_ASCII,
    UTF8_AS_NAMED,
    UTF8_DESPITE_LABEL,
    WINDOWS_1252_READ,
    WINDOWS_1252_UNDEFINED_BYTE,
    WINDOWS_1252_UNDEFINED_BYTES,
    AS_LABELLED,
    UTF8_NOT_LABELLED,
    LABELLED,
    UNLABELLED,
)


def choose_charset(facts: CharsetFacts) -> CharsetChoice:
    """The codec to read a document with, following what its bytes are (see the module's
    docstring). Raises ``DocumentUndecodable`` when the document must be refused."""
    label = facts.label
    named = LABELLED % {"label": label} if label else UNLABELLED

    def choice(charset: str, reason: str, **values: object) -> CharsetChoice:
        return CharsetChoice(charset, reason % {"named": named, "label": label, **values})

    valid_utf8 = facts.utf8_failure is None
    if facts.has_bom:
        if valid_utf8:
            return CharsetChoice("utf-8-sig", BOM_UTF8)
        raise _undecodable("utf-8", facts.utf8_failure, "it starts with UTF-8's mark")
    if facts.labelled is None or facts.labelled in _WESTERN:
        if valid_utf8:
            if facts.ascii:
                return choice("utf-8", PLAIN_ASCII)
            if facts.labelled in (None, "utf-8"):
                return choice("utf-8", UTF8_AS_NAMED)
            return choice("utf-8", UTF8_DESPITE_LABEL)
        if undefined := facts.undefined_in_cp1252:
            reason = WINDOWS_1252_UNDEFINED_BYTE if undefined == 1 else WINDOWS_1252_UNDEFINED_BYTES
            return choice(WINDOWS_1252, reason, undefined=f"{undefined:,}")
        return choice(WINDOWS_1252, WINDOWS_1252_READ)
    if facts.label_failure is None:
        return choice(facts.labelled, AS_LABELLED)
    if valid_utf8:
        return choice("utf-8", UTF8_NOT_LABELLED)
    raise _undecodable(
        facts.labelled, facts.label_failure, f"it is labelled {label}, and it is not UTF-8"
    )


def _undecodable(charset: str, failure: tuple[int, int] | None, why: str) -> DocumentUndecodable:
    offset, byte = failure or (0, 0)
    return DocumentUndecodable(
        operation=DECODE_OPERATION,
        offset=offset,
        charset=charset,
        code="Undecodable",
        message=(
            f"byte 0x{byte:02x} at offset {offset} cannot be read as {charset} ({why}). "
            "Download the report again; if it is the same, open it in a spreadsheet, save it "
            "as UTF-8 text and upload that file"
        ),
    )


def charset_facts(content: bytes, label: str | None) -> CharsetFacts:
    facts = CharsetFacts(label)
    facts.feed(content)
    return facts.finish()


def decode_document(content: bytes, charset_label: str | None) -> str:
    """Decode report bytes to text with the charset `choose_charset` picks for them.

    Raises ``DocumentUndecodable`` (offset into ``content``) when the document must be refused.
    """
    choice = choose_charset(charset_facts(content, charset_label))
    return content.decode(choice.charset)


def gunzip(data: bytes, *, max_bytes: int) -> bytes:
    """Decompress a gzip (or zlib) stream, including multi-member gzip files.

    Raises ``DocumentCorrupt`` for damaged or truncated data and ``DocumentTooLarge`` when the
    output would exceed ``max_bytes`` (a guard against decompression bombs).
    """
    out = bytearray()
    remaining = data
    while True:
        # wbits 15 + 32: accept gzip and zlib headers, as Amazon's own samples do.
        decompressor = zlib.decompressobj(15 + 32)
        chunk_input = remaining
        try:
            while chunk_input:
                out += decompressor.decompress(chunk_input, max_bytes + 1 - len(out))
                if len(out) > max_bytes:
                    raise DocumentTooLarge(
                        operation=GUNZIP_OPERATION,
                        code="TooLarge",
                        message=f"more than {max_bytes} bytes after decompression",
                    )
                chunk_input = decompressor.unconsumed_tail
            out += decompressor.flush()
        except zlib.error as exc:
            raise DocumentCorrupt(
                operation=GUNZIP_OPERATION, code="CorruptGzip", message=str(exc)
            ) from None
        if not decompressor.eof:
            raise DocumentCorrupt(
                operation=GUNZIP_OPERATION,
                code="TruncatedGzip",
                message=f"the compressed data ends early after {len(data)} bytes",
            )
        remaining = decompressor.unused_data
        # Some writers pad with zero bytes after the last member.
        if not remaining.strip(b"\x00"):
            return bytes(out)
