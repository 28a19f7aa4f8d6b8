"""Report documents at rest: keep the bytes Amazon sent, read them back as text.

The raw file is what Amazon's document held after decompression, in Amazon's own encoding, so
that the seller can download exactly what Amazon produced. The charset that decoded it cleanly
is kept beside it, and re-reading streams with that charset.
"""

from __future__ import annotations

import codecs
import io
from typing import TextIO

from django.core.files import File
from django.core.files.base import ContentFile

from amazon_settings.spapi import (
    CharsetChoice,
    charset_facts,
    choose_charset,
)
from reports.models import Report

UTF8_BOM = codecs.BOM_UTF8


def effective_charset(content: bytes, label: str | None) -> CharsetChoice:
    """The charset that reads `content`, following what its bytes are more than the label, and
    why (`amazon_settings.spapi.choose_charset`). Raises DocumentUndecodable (with the byte
    offset and what to do) when the document must be refused."""
    return choose_charset(charset_facts(content, label))


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
