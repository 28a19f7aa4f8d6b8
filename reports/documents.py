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
from reports.exceptions import DocumentStorageFailed
from reports.models import Report

UTF8_BOM = codecs.BOM_UTF8


def effective_charset(content: bytes, label: str | None) -> CharsetChoice:
    """The charset that reads `content`, following what its bytes are more than the label, and
    why (`amazon_settings.spapi.choose_charset`). Raises DocumentUndecodable (with the byte
    offset and what to do) when the document must be refused."""
    return choose_charset(charset_facts(content, label))


def store_raw_document(report: Report, content: bytes, *, charset: str) -> None:
    """Keep the document's bytes in the documents storage (local files, or S3 when
    configured). Raises DocumentStorageFailed as `store_raw_file` does."""
    store_raw_file(report, ContentFile(content), charset=charset)


def store_raw_file(report: Report, content: File, *, charset: str) -> None:
    """Keep a document file in the documents storage, copied a chunk at a time. The report is
    not saved: the caller writes it with its next state.

    Raises DocumentStorageFailed (with the store's own words) when the store cannot be written
    or reached; the report then names no stored file and the caller keeps what it had (the
    download is fetched again, the upload is refused with the message).
    """
    try:
        if report.raw_file:
            report.raw_file.delete(save=False)
        report.raw_file.save(f"report-{report.pk}.txt", content, save=False)
    except OSError as error:
        report.raw_file.name = ""
        raise DocumentStorageFailed(f"Could not store the document: {error}") from error
    report.raw_charset = charset
    report.raw_size = content.size


def open_raw(report: Report) -> File:
    """The stored document's bytes as a stream read a chunk at a time (the caller closes it).
    Raises FileNotFoundError when the store has no such file, DocumentStorageFailed when the
    store cannot be read."""
    try:
        return report.raw_file.open("rb")
    except FileNotFoundError:
        raise
    except OSError as error:
        raise DocumentStorageFailed(f"Could not read the stored document: {error}") from error


def open_text(report: Report) -> TextIO:
    """The stored document as a text stream, decoded with the charset that was checked.
    Raises as `open_raw` does; a read that fails midway (S3 dropped the stream) raises
    OSError."""
    return io.TextIOWrapper(open_raw(report), encoding=report.raw_charset or "utf-8", newline="")
