from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from amazon_settings.models import SellerAccount
from reports.storage import documents_storage


class Report(models.Model):
    """One Amazon report we track, from request (or discovery) to import: a state machine.

    `import_status` is our side, `amazon_status` is Amazon's `processingStatus`; the Processing
    page shows both. Every step of the worker checks the state first and moves it forward inside
    a transaction, so a step that runs twice does nothing the second time. `next_attempt_at` is
    the backoff (when to try again); `lease_id` and `leased_until` are the lease (a claimed
    report belongs to one worker until then, so a second worker does not take it).
    `failure_reason` says why a failed report stopped, or (authorization) why an unfinished one
    waits for the seller. Only `reports.services` changes these fields.
    """

    class ImportStatus(models.TextChoices):
        QUEUED = "queued", _("Queued")  # created here, not yet sent to Amazon
        WAITING = "waiting", _("Waiting for Amazon")  # Amazon has it: IN_QUEUE / IN_PROGRESS
        DOWNLOADING = "downloading", _("Downloading")
        IMPORTING = "importing", _("Importing")
        IMPORTED = "imported", _("Imported")
        NO_DATA = "no_data", _("No data")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        SKIPPED = "skipped", _("Skipped")
        HELD = "held", _("Held for confirmation")

    class AmazonStatus(models.TextChoices):
        NONE = "", "—"
        IN_QUEUE = "IN_QUEUE", _("In queue")
        IN_PROGRESS = "IN_PROGRESS", _("In progress")
        DONE = "DONE", _("Done")
        CANCELLED = "CANCELLED", _("Cancelled")
        FATAL = "FATAL", _("Fatal")

    class Source(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        AUTOMATIC = "automatic", _("Automatic")
        SCHEDULE = "schedule", _("Amazon schedule")
        DISCOVERED = "discovered", _("Found on Amazon")
        UPLOADED = "uploaded", _("Uploaded")

    class FailureReason(models.TextChoices):
        NONE = "", "—"
        AUTH = "auth", _("Authorization")
        REJECTED = "rejected", _("Rejected by Amazon")
        AMAZON_FATAL = "amazon_fatal", _("Amazon could not create it")
        BAD_DOCUMENT = "bad_document", _("Unreadable document")
        RETRIES_EXHAUSTED = "retries_exhausted", _("Retries exhausted")
        INTERNAL = "internal", _("Internal error")
        STORAGE = "storage", _("Document storage failed")

    UNFINISHED = (
        ImportStatus.QUEUED,
        ImportStatus.WAITING,
        ImportStatus.DOWNLOADING,
        ImportStatus.IMPORTING,
    )

    account = models.ForeignKey(SellerAccount, on_delete=models.PROTECT, related_name="reports")
    report_type = models.CharField(max_length=80)
    marketplace_ids = models.JSONField(default=list)
    data_start = models.DateTimeField(null=True, blank=True)
    data_end = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.REQUESTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    # Reports created by one form submission share a batch, to highlight them on Processing.
    batch = models.CharField(max_length=32, blank=True, db_index=True)

    amazon_report_id = models.CharField(max_length=32, blank=True)
    amazon_status = models.CharField(
        max_length=16, choices=AmazonStatus.choices, default=AmazonStatus.NONE, blank=True
    )
    amazon_document_id = models.CharField(max_length=200, blank=True)
    amazon_schedule_id = models.CharField(max_length=64, blank=True)
    amazon_created_at = models.DateTimeField(null=True, blank=True)
    amazon_processing_end_at = models.DateTimeField(null=True, blank=True)
    # When this product first learnt that Amazon finished the report (our clock, not Amazon's):
    # push counts as not working when that was long ago and no notification came.
    amazon_finished_seen_at = models.DateTimeField(null=True, blank=True)

    import_status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED, db_index=True
    )
    failure_reason = models.CharField(
        max_length=24, choices=FailureReason.choices, default=FailureReason.NONE, blank=True
    )
    last_error = models.CharField(max_length=1000, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # A worker that claimed the report holds the lease until `leased_until`; another worker
    # takes the report only after that, so two workers never work on the same report.
    lease_id = models.CharField(max_length=32, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    stuck_since = models.DateTimeField(null=True, blank=True)

    # In the `documents` storage (reports/storage.py): the local disk, or S3 when configured.
    raw_file = models.FileField(upload_to="reports/%Y/%m/", storage=documents_storage, blank=True)
    raw_charset = models.CharField(max_length=40, blank=True)
    raw_size = models.PositiveBigIntegerField(default=0)

    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_failed = models.PositiveIntegerField(default=0)
    # The import commits a batch at a time: the stored document's last line whose import is
    # committed, with the counters above (0: not started). An interrupted import resumes
    # after it; a new document or a reset starts again from 0.
    imported_through_line = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "amazon_report_id"],
                condition=~models.Q(amazon_report_id=""),
                name="uniq_report_per_amazon_id",
            )
        ]
        indexes = [
            models.Index(fields=["account", "report_type", "-created_at"], name="report_acct_type"),
            models.Index(fields=["-created_at"], name="report_created"),
        ]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.report_type} {self.amazon_report_id or '(not sent yet)'}"

    @property
    def is_finished(self) -> bool:
        return self.import_status not in self.UNFINISHED

    @property
    def import_interrupted(self) -> bool:
        """The import committed part of the document, then its worker stopped (killed, or
        the machine went down): nobody holds the lease. The worker resumes it after
        `imported_through_line`."""
        return (
            self.import_status == self.ImportStatus.IMPORTING
            and self.imported_through_line > 0
            and (self.leased_until is None or self.leased_until <= timezone.now())
        )

    @property
    def progress_percent(self) -> int:
        if not self.rows_total:
            return 0
        return min(100, round(100 * self.rows_done / self.rows_total))


class ReportEvent(models.Model):
    """A step in a report's history: what changed, when, and why (the details page)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    import_status = models.CharField(max_length=16)
    amazon_status = models.CharField(max_length=16, blank=True)
    message = models.CharField(max_length=1000)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.import_status}: {self.message}"

    # The statuses as the report's own fields show them; a code no longer known, as stored.
    @property
    def import_status_label(self) -> str:
        return _choice_label(Report.ImportStatus, self.import_status)

    @property
    def amazon_status_label(self) -> str:
        return _choice_label(Report.AmazonStatus, self.amazon_status)


def _choice_label(choices: type[models.TextChoices], value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


class ReportRowError(models.Model):
    """A note on one line of the report's document, with its line number and the reason.

    An error: the importer could not take the row (counted in `rows_failed`). A warning: the
    row was imported as it stands, but something in it looks wrong (amounts that do not add
    up); it is not counted as failed.
    """

    class Kind(models.TextChoices):
        ERROR = "error", _("Error")
        WARNING = "warning", _("Warning")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="row_errors")
    line_number = models.PositiveIntegerField()
    reason = models.CharField(max_length=500)
    kind = models.CharField(max_length=7, choices=Kind.choices, default=Kind.ERROR)

    class Meta:
        ordering = ["line_number", "pk"]

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.reason}"


class DiscoveryCursor(models.Model):
    """Up to when the worker has looked for reports on Amazon, per account (getReports)."""

    account = models.OneToOneField(
        SellerAccount, on_delete=models.CASCADE, related_name="discovery_cursor"
    )
    checked_until = models.DateTimeField()
    next_check_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.account} checked until {self.checked_until:%Y-%m-%d %H:%M}"


class WorkerHeartbeat(models.Model):
    """When each scheduled worker job last ran: the proof that the background worker is alive."""

    # The name the worker's pass writes on every run (reports.services.worker).
    WORKER = "worker"
    # The name the notification consumer writes after every poll of the queue
    # (reports.services.notifications).
    NOTIFICATIONS = "notifications"

    name = models.CharField(max_length=100, unique=True)
    last_seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.last_seen_at:%Y-%m-%d %H:%M:%S}"


class ConnectionTest(models.Model):
    """The test call to Amazon that "Orders missing?" shows for an account, made by the worker.

    A page never waits for Amazon: it asks for a test (QUEUED), the worker makes the calls
    (RUNNING) and stores what Amazon answered (FINISHED), and the page polls this row. One row
    per account, reused for every test, so that many pages opened at once share one test.
    `run_id` names the current request: a task handed out for an earlier one finds another id
    and does nothing. Only `reports.services.connection_tests` changes these fields.
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting for the worker")
        RUNNING = "running", _("Calling Amazon")
        FINISHED = "finished", _("Finished")

    account = models.OneToOneField(
        SellerAccount, on_delete=models.CASCADE, related_name="connection_test"
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    run_id = models.CharField(max_length=32)
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # One {"operation", "ok", "message"} per call made (amazon_settings.services.ConnectionCheck).
    results = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.account}: connection test {self.get_state_display().lower()}"


class ReportNotification(models.Model):
    """A REPORT_PROCESSING_FINISHED notification received for a report type this product
    imports (push): it tells a duplicate from a new message, and which finished reports had
    their notification (`reports.services.push_health`). Notifications of other types are
    dropped without a row. Kept 30 days."""

    notification_id = models.CharField(max_length=100, unique=True)
    selling_partner_id = models.CharField(max_length=32)
    amazon_report_id = models.CharField(max_length=32)
    report_type = models.CharField(max_length=80)
    processing_status = models.CharField(max_length=16)
    event_time = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["selling_partner_id", "amazon_report_id"], name="notified_report")
        ]

    def __str__(self) -> str:
        return f"{self.processing_status} for report {self.amazon_report_id}"


class RejectedNotification(models.Model):
    """A message of the notification queue that could not be handled (not Amazon's JSON, a
    seller nobody connected, handling that kept failing): kept here with why, and deleted from
    the queue, so that it never comes back. Kept 90 days."""

    message_id = models.CharField(max_length=100)
    received_at = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=500)
    body = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M} {self.reason}"


class ReportCadence(models.Model):
    """How often the worker brings one report type of one account, and when it looks next.

    `interval` is the seller's choice (None: the catalogue's default cadence for the type);
    `active` False turns the type's automatic import off. `next_request_at` is when the worker
    looks at the type again: it claims the row by moving that moment forward in one guarded
    UPDATE (`reports.services.cadences.claim_cadence`), so of two worker passes at once only
    one requests. For a type Amazon lets schedule, the `amazon_schedule_*` fields hold the
    Amazon-side schedule this account has for it (what was last created there), so the worker
    changes it only when the seller's choice or the marketplaces change. Only
    `reports.services.cadences` and the worker change these fields.
    """

    account = models.ForeignKey(SellerAccount, on_delete=models.CASCADE, related_name="cadences")
    kind = models.CharField(max_length=40)  # reports.catalog key
    interval = models.DurationField(null=True, blank=True)
    active = models.BooleanField(default=True)
    next_request_at = models.DateTimeField(db_index=True)
    last_requested_at = models.DateTimeField(null=True, blank=True)
    amazon_schedule_id = models.CharField(max_length=64, blank=True)
    amazon_schedule_period = models.CharField(max_length=8, blank=True)
    amazon_schedule_marketplaces = models.JSONField(default=list, blank=True)
    amazon_schedule_created_at = models.DateTimeField(null=True, blank=True)
    # Why the Amazon-side schedule could not be set up (shown in Settings); the worker then
    # requests the type itself.
    schedule_error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "kind"], name="uniq_cadence_per_kind")
        ]
        ordering = ["account", "kind"]

    def __str__(self) -> str:
        return f"{self.account} {self.kind} every {self.interval or 'default'}"


class EmailCondition(models.TextChoices):
    """What the product e-mails about (`reports.services.email_notifications`): each user opts
    in to each one on their profile page."""

    AUTHORIZATION_EXPIRING = (
        "authorization_expiring",
        _("An account's authorization expires in 30, 7 or 1 days"),
    )
    AUTHORIZATION_REFUSED = (
        "authorization_refused",
        _("An account's authorization was revoked or access was denied"),
    )
    REPORT_FAILED = "report_failed", _("A report failed or was held for confirmation")
    WORKER_SILENT = "worker_silent", _("The background worker has been silent for an hour")


class NotificationPreference(models.Model):
    """Which e-mail notifications a user receives.

    It lives in `reports`, not in `core` beside the user's language, because the conditions are
    the pipeline's and the accounts' (`EmailCondition`), and only `reports` sees both
    `amazon_settings` and the report state machine; `core` imports no app. A user without a row
    gets the default of their role (`reports.selectors.notification_recipients`): Operators
    and administrators receive everything, Viewers nothing. Only
    `reports.services.email_notifications` writes it.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    authorization_expiring = models.BooleanField(_("authorization expiring"), default=False)
    authorization_refused = models.BooleanField(_("authorization revoked or denied"), default=False)
    report_failed = models.BooleanField(_("report failed or held"), default=False)
    worker_silent = models.BooleanField(_("background worker silent"), default=False)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"e-mail notifications of {self.user}"

    @property
    def conditions(self) -> frozenset[str]:
        """The conditions this user opted in to."""
        return frozenset(value for value in EmailCondition.values if getattr(self, value))


class SentNotification(models.Model):
    """One notification e-mail to one user about one occurrence of a condition: the unique
    `(user, key)` is what makes each occurrence mailed once, however many passes see it.

    `key` names the occurrence (`auth-expiring-7:<account>:<expiry date>`,
    `report-failed:<report>:<since>`). The row is written before the mail goes out, as the
    claim that keeps a second pass from sending it too, with `sent_at` empty; it is stamped
    after the mail server took the mail, and deleted when it refused it, so that the next pass
    tries again. A claim whose sender died is taken over after `CLAIM_SECONDS`.
    """

    CLAIM_SECONDS = 15 * 60

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sent_notifications"
    )
    key = models.CharField(max_length=200)
    condition = models.CharField(max_length=32, choices=EmailCondition.choices)
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="uniq_notification_per_user")
        ]
        indexes = [models.Index(fields=["key"], name="sent_notification_key")]

    def __str__(self) -> str:
        return f"{self.key} to {self.user}"
