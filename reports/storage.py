"""The storage raw report documents are kept in: settings.STORAGES["documents"].

The local disk by default; with DOCUMENTS_S3_BUCKET an S3 bucket (config/storages.py) that
every web and worker machine reads, so a document one worker stored is served by any web
process. `DocumentS3Storage` is django-storages' S3 backend with two changes the pipeline
relies on: a document opened for reading streams from S3 a chunk at a time (the backend's own
file downloads the whole object first), and every failure of S3 (unreachable, refused, timed
out) is an OSError, as the local disk's are, with a sentence that says what happened.
"""

from __future__ import annotations

import io
from typing import Any

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

DOCUMENTS = "documents"  # the alias in settings.STORAGES
READ_CHUNK_BYTES = 256 * 1024
_S3_ERRORS = (BotoCoreError, ClientError, Boto3Error)


class DocumentStoreUnavailable(OSError):
    """The document store failed or could not be reached; the message says how."""


def _unavailable(error: Exception) -> DocumentStoreUnavailable:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = details.get("Code") or error.response.get("ResponseMetadata", {}).get(
            "HTTPStatusCode"
        )
        message = details.get("Message") or "no details"
        return DocumentStoreUnavailable(f"S3 refused it ({code}: {message})")
    return DocumentStoreUnavailable(f"S3 did not answer ({error})")


def _not_found(error: ClientError) -> bool:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 404 or error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}


class _Body(io.RawIOBase):
    """An S3 object's body as a raw stream, for io.BufferedReader; failures as OSError."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._body.read(len(buffer))
        except _S3_ERRORS as error:
            raise _unavailable(error) from error
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class _StreamedDocument(File):
    """An S3 object open for reading: each read fetches the next chunk from S3. Opening it
    again (a FieldFile read twice) starts a new stream from the first byte."""

    def __init__(self, storage: DocumentS3Storage, name: str) -> None:
        self._storage = storage
        super().__init__(storage.stream(name), name=name)

    def open(self, mode: str | None = None) -> _StreamedDocument:
        self.close()
        self.file = self._storage.stream(self.name)
        return self


class DocumentS3Storage(S3Storage):
    """django-storages' S3 backend, reading documents as streams and failing with OSError."""

    def stream(self, name: str) -> io.BufferedReader:
        """The object `name` as a buffered binary stream, read from S3 as it is consumed.
        Raises FileNotFoundError when there is none, DocumentStoreUnavailable otherwise."""
        key = self._normalize_name(clean_name(name))
        try:
            body = self.connection.meta.client.get_object(Bucket=self.bucket_name, Key=key)["Body"]
        except ClientError as error:
            if _not_found(error):
                raise FileNotFoundError(f"No stored document {name}.") from error
            raise _unavailable(error) from error
        except _S3_ERRORS as error:
            raise _unavailable(error) from error
        return io.BufferedReader(_Body(body), buffer_size=READ_CHUNK_BYTES)

    def _open(self, name: str, mode: str = "rb") -> File:
        if set(mode) - {"r", "b"}:
            raise ValueError("Stored documents are written with save() and opened to read only.")
        return _StreamedDocument(self, name)

    def _save(self, name: str, content: File) -> str:
        try:
            return super()._save(name, content)
        except _S3_ERRORS as error:
            raise _unavailable(error) from error

    def delete(self, name: str) -> None:
        try:
            super().delete(name)
        except _S3_ERRORS as error:
            raise _unavailable(error) from error

    def exists(self, name: str) -> bool:
        try:
            return super().exists(name)
        except _S3_ERRORS as error:
            raise _unavailable(error) from error

    def size(self, name: str) -> int:
        try:
            return super().size(name)
        except _S3_ERRORS as error:
            raise _unavailable(error) from error

    def url(self, name: str, *args: Any, **kwargs: Any) -> str:
        # Documents hold buyers' data: only the dashboard's login-protected views serve them.
        raise NotImplementedError("Stored documents have no URL; the dashboard serves them.")


class _DocumentStorage(LazyObject):
    """storages["documents"], looked up at first use (and again after STORAGES changes, as
    tests do), so that the model field need not fix a backend when it is imported."""

    def _setup(self) -> None:
        self._wrapped = storages[DOCUMENTS]


document_storage = _DocumentStorage()


def documents_storage() -> Storage:
    """The `storage` of Report.raw_file (a callable, so migrations name it, not a backend)."""
    return document_storage  # type: ignore[return-value]


@receiver(setting_changed)
def _storages_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "STORAGES":
        document_storage._wrapped = empty
