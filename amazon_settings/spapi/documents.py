"""Pure helpers that turn a downloaded report document into text.

A document is gzipped when ``getReportDocument`` says ``compressionAlgorithm: GZIP`` (the Reports
API model and Amazon's "Reports API v2021-06-30 use case guide"). Amazon labels documents with
Java charset names (``Cp1252``, ``windows-31j``, ``utf8``) and the labels are not always right
(amzn/selling-partner-api-models issues #2748 and #4955), so decoding tries the label, then
UTF-8, then cp1252, each strictly. Nothing here replaces characters silently: a file that no
candidate decodes raises ``DocumentUndecodable`` naming the first bad byte.
"""

from __future__ import annotations

import codecs
import zlib

from .errors import DocumentCorrupt, DocumentTooLarge, DocumentUndecodable

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


def decode_document(content: bytes, charset_label: str | None) -> str:
    """Decode report bytes to text without ever replacing a character.

    A UTF-8 byte order mark is stripped, and then UTF-8 is tried first: a BOM is stronger
    evidence than a label. Otherwise the labelled charset is tried, then ``utf-8``, then
    ``cp1252``. Raises ``DocumentUndecodable`` (offset into ``content``) when all fail.
    """
    skipped = 0
    candidates: list[str] = []
    if content.startswith(UTF8_BOM):
        content = content[len(UTF8_BOM) :]
        skipped = len(UTF8_BOM)
        candidates.append("utf-8")
    labelled = normalise_charset(charset_label)
    if labelled is not None:
        candidates.append(labelled)
    candidates += ["utf-8", "cp1252"]
    first_failure: tuple[str, UnicodeDecodeError] | None = None
    for charset in dict.fromkeys(candidates):  # ordered and without repeats
        try:
            return content.decode(charset, errors="strict")
        except UnicodeDecodeError as exc:
            if first_failure is None:
                first_failure = (charset, exc)
    assert first_failure is not None  # the loop ran at least once
    charset, exc = first_failure
    offset = skipped + exc.start
    tried = ", ".join(dict.fromkeys(candidates))
    raise DocumentUndecodable(
        operation=DECODE_OPERATION,
        offset=offset,
        charset=charset,
        code="Undecodable",
        message=f"byte 0x{exc.object[exc.start]:02x} at offset {offset}; tried {tried}",
    )


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
