"""Report documents at rest: keep the bytes Amazon sent, read them back as text.

The raw file is what Amazon's document held after decompression, in Amazon's own encoding, so
that the seller can download exactly what Amazon produced. The charset that decoded it cleanly
is kept beside it, and re-reading streams with that charset.
"""

from __future__ import annotations

import codecs
import io
from typing import TextIO

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


def store_raw_document(report: Report, content: bytes, *, charset: str) -> None:
    """Keep the document's bytes in Django's storage (local files, or S3 when configured)."""
    if report.raw_file:
        report.raw_file.delete(save=False)
    report.raw_file.save(f"report-{report.pk}.txt", ContentFile(content), save=False)
    report.raw_charset = charset
    report.raw_size = len(content)


def open_text(report: Report) -> TextIO:
    """The stored document as a text stream, decoded with the charset that was checked."""
    handle = report.raw_file.open("rb")
    return io.TextIOWrapper(handle, encoding=report.raw_charset or "utf-8", newline="")
