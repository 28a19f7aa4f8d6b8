"""Report documents at rest: keep the bytes Amazon sent, read them back as text.

The raw file is what Amazon's document held after decompression, in Amazon's own encoding, so
that the seller can download exactly what Amazon produced. The charset that decoded it cleanly
is kept beside it, and re-reading streams with that charset.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterable
from typing import TextIO

from django.core.files import File
from django.core.files.base import ContentFile

from amazon_settings.spapi import DocumentUndecodable, decode_document, normalise_charset
from reports.models import Report

UTF8_BOM = codecs.BOM_UTF8


def effective_charset(content: bytes, label: str | None) -> str:
    """The charset that decodes `content` without loss, trying the label first.

    Raises DocumentUndecodable (with the byte offset) when none does. Reads the whole content
    once; the import then streams it.
    """
    decode_document(content, label)  # raises if nothing works
    if content.startswith(UTF8_BOM):
        return "utf-8-sig"
    for candidate in (normalise_charset(label) if label else None, "utf-8", "cp1252"):
        if not candidate:
            continue
        try:
            content.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
        return candidate
    raise DocumentUndecodable(offset=0, charset=label or "unknown", operation="decode")


class CharsetCheck:
    """Finds the charset of a document fed a chunk at a time, as `effective_charset` does for
    one in memory without a label: UTF-8 (with its byte order mark: utf-8-sig), else cp1252.

    UTF-8 is checked while the chunks go by; cp1252 only when UTF-8 failed, on a second
    reading (`reread`), so that a file is read once in the common case.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._head = b""
        self._read = 0
        self._utf8_failure: int | None = None

    def feed(self, data: bytes) -> None:
        if len(self._head) < len(UTF8_BOM):
            self._head += data[: len(UTF8_BOM)]
        if self._utf8_failure is None:
            try:
                self._utf8.decode(data)
            except UnicodeDecodeError as error:
                self._utf8_failure = self._read + error.start
        self._read += len(data)

    def charset(self, *, reread: Callable[[], Iterable[bytes]]) -> str:
        """The charset, once every chunk was fed. Raises DocumentUndecodable (with the offset
        of the first byte UTF-8 cannot read) when cp1252 fails too."""
        if self._utf8_failure is None:
            try:
                self._utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                self._utf8_failure = self._read
            else:
                return "utf-8-sig" if self._head.startswith(UTF8_BOM) else "utf-8"
        cp1252 = codecs.getincrementaldecoder("cp1252")()
        read = 0
        for chunk in reread():
            try:
                cp1252.decode(chunk)
            except UnicodeDecodeError as error:
                offset = read + error.start
                raise DocumentUndecodable(
                    offset=self._utf8_failure,
                    charset="utf-8",
                    operation="decode",
                    message=(
                        f"byte 0x{chunk[error.start]:02x} at offset {offset} is not cp1252, "
                        f"and byte {self._utf8_failure} is not UTF-8"
                    ),
                ) from None
            read += len(chunk)
        return "cp1252"


def store_raw_document(report: Report, content: bytes, *, charset: str) -> None:
    """Keep the document's bytes in Django's storage (local files, or S3 when configured)."""
    store_raw_file(report, ContentFile(content), charset=charset)


def store_raw_file(report: Report, content: File, *, charset: str) -> None:
    """Keep a document file in Django's storage, copied a chunk at a time."""
    if report.raw_file:
        report.raw_file.delete(save=False)
    report.raw_file.save(f"report-{report.pk}.txt", content, save=False)
    report.raw_charset = charset
    report.raw_size = content.size


def open_text(report: Report) -> TextIO:
    """The stored document as a text stream, decoded with the charset that was checked."""
    handle = report.raw_file.open("rb")
    return io.TextIOWrapper(handle, encoding=report.raw_charset or "utf-8", newline="")
