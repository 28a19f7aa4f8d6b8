"""What can go wrong in the report pipeline; each leaf says what the caller must do."""


class ReportsError(Exception):
    """Base of this app's errors; the message is a sentence a seller can read."""


class InvalidReportRequest(ReportsError):
    """The requested report cannot be asked for (type, region, range): fix the input."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        # The form field the message belongs to ("kind", "start", "end"), for field errors.
        self.field = field


class ReportActionNotAllowed(ReportsError):
    """The action does not fit the report's state (e.g. cancel after Amazon started)."""


class DocumentStorageFailed(ReportsError):
    """The document store (the disk, or S3) could not store or read a document: try again
    later (the worker does, with its backoff); nothing was lost."""
