"""What the sandbox has issued and been told, kept in its own SQLite file so it survives restarts.

Models are data only. The rules live in `authorization.py` (consent codes and tokens),
`reporting.py` (reports, schedules, documents) and `control.py` (fault injection). Every
timestamp here is sandbox time (`clock.now()`), not wall-clock time.
"""

from __future__ import annotations

from django.db import models

# Amazon's report and schedule ids are long numeric strings ("54517018502"). The sandbox derives
# them from the primary key, so they are unique and stable without a second counter.
REPORT_ID_BASE = 50_000_000_000
SCHEDULE_ID_BASE = 80_000_000_000


class SandboxState(models.Model):
    """The one row of switches: the clock offset and how the registered app behaves."""

    class CancelMode(models.TextChoices):
        PAGE = "page", "show a 'you did not authorize' page (Amazon's documented exit)"
        REDIRECT = "redirect", "redirect with error=access_denied"

    clock_offset_seconds = models.FloatField(default=0)
    app_is_draft = models.BooleanField(default=True)
    client_secret_accepted = models.BooleanField(default=True)
    # Empty: any http URL on a loopback host whose path ends with /settings/connect/callback/.
    redirect_uris = models.JSONField(default=list, blank=True)
    cancel_mode = models.CharField(max_length=16, choices=CancelMode, default=CancelMode.PAGE)
    # Which history every seller has (DemoSeller.history); tests switch it, the demo keeps 0.
    history = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"sandbox state (clock +{self.clock_offset_seconds:.0f}s)"

    @classmethod
    def load(cls) -> SandboxState:
        """The singleton row, created with the defaults on first use."""
        state, _ = cls.objects.get_or_create(pk=1)
        return state


class AuthorizationCode(models.Model):
    """An `spapi_oauth_code` handed out by the consent page: single use, five minutes."""

    code = models.CharField(max_length=64, unique=True)
    selling_partner_id = models.CharField(max_length=32)
    region = models.CharField(max_length=2)
    redirect_uri = models.CharField(max_length=2000)
    issued_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"code for {self.selling_partner_id}/{self.region}"


class RefreshToken(models.Model):
    """An LWA refresh token (`Atzr|…`) for one seller in one region."""

    class Source(models.TextChoices):
        CONSENT = "consent"
        SELF_AUTHORIZATION = "self_authorization"

    token = models.CharField(max_length=600, unique=True)
    selling_partner_id = models.CharField(max_length=32)
    region = models.CharField(max_length=2)
    source = models.CharField(max_length=32, choices=Source)
    issued_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["selling_partner_id", "region"])]

    def __str__(self) -> str:
        return f"refresh token for {self.selling_partner_id}/{self.region}"


class AccessToken(models.Model):
    """An access token: a seller's LWA token, a grantless token or a Restricted Data Token."""

    class Kind(models.TextChoices):
        SELLER = "seller"
        GRANTLESS = "grantless"
        RESTRICTED = "restricted"

    token = models.CharField(max_length=600, unique=True)
    kind = models.CharField(max_length=16, choices=Kind)
    selling_partner_id = models.CharField(max_length=32, blank=True)
    region = models.CharField(max_length=2, blank=True)
    scope = models.CharField(max_length=64, blank=True)
    # For a Restricted Data Token: the [method, path] pairs it grants, exactly as requested.
    restricted_resources = models.JSONField(default=list, blank=True)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["selling_partner_id", "region"])]

    def __str__(self) -> str:
        return f"{self.kind} token for {self.selling_partner_id or self.scope}"


class ReportSchedule(models.Model):
    """An Amazon-side schedule that creates a report every `period`."""

    selling_partner_id = models.CharField(max_length=32)
    region = models.CharField(max_length=2)
    report_type = models.CharField(max_length=100)
    marketplace_ids = models.JSONField(default=list)
    report_options = models.JSONField(default=dict, blank=True)
    period = models.CharField(max_length=8)
    next_creation_at = models.DateTimeField()
    created_at = models.DateTimeField()
    cancelled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"schedule {self.schedule_id} {self.report_type} {self.period}"

    @property
    def schedule_id(self) -> str:
        return str(SCHEDULE_ID_BASE + self.pk)


class ReportDocument(models.Model):
    """A finished report's file, gzip-compressed as stored; it never changes after rendering."""

    class Corruption(models.TextChoices):
        NONE = "", "served as stored"
        TRUNCATE = "truncate", "the gzip stream is cut in half"
        CORRUPT = "corrupt", "bytes in the middle of the gzip stream are flipped"

    document_id = models.CharField(max_length=120, unique=True)
    selling_partner_id = models.CharField(max_length=32)
    region = models.CharField(max_length=2)
    report_type = models.CharField(max_length=100)
    body = models.BinaryField()
    # The charset the text was encoded with, as Amazon labels it ("Cp1252", "UTF-8").
    charset = models.CharField(max_length=32)
    is_error_document = models.BooleanField(default=False)
    corruption = models.CharField(max_length=16, choices=Corruption, blank=True, default="")
    # Fault: a charset label that differs from the encoding actually used; empty = `charset`.
    served_charset = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.document_id


class Report(models.Model):
    """A report request; its processing status is computed from timestamps when it is read."""

    class Origin(models.TextChoices):
        API = "api"
        SCHEDULE = "schedule"
        SELLER_CENTRAL = "seller_central"

    class Outcome(models.TextChoices):
        NATURAL = "", "as the data says"
        STUCK = "stuck", "stays IN_PROGRESS"
        FATAL = "fatal"
        CANCELLED = "cancelled"

    selling_partner_id = models.CharField(max_length=32)
    region = models.CharField(max_length=2)
    report_type = models.CharField(max_length=100)
    marketplace_ids = models.JSONField(default=list)
    report_options = models.JSONField(default=dict, blank=True)
    data_start = models.DateTimeField()
    data_end = models.DateTimeField()
    created_at = models.DateTimeField()
    origin = models.CharField(max_length=16, choices=Origin, default=Origin.API)
    # Kept as a string: the report still names its schedule after that schedule is cancelled.
    schedule_id = models.CharField(max_length=32, blank=True)
    queue_seconds = models.FloatField()
    processing_seconds = models.FloatField()
    forced_outcome = models.CharField(max_length=16, choices=Outcome, blank=True, default="")
    # Why Amazon will refuse it (regeneration window, VAT before the 3rd); decided at creation.
    fatal_reason = models.TextField(blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Set once, when the report is first seen finished: "DONE" | "CANCELLED" | "FATAL".
    final_status = models.CharField(max_length=16, blank=True)
    row_count = models.IntegerField(null=True, blank=True)
    document = models.ForeignKey(
        ReportDocument, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When the notifications publisher dealt with the finished report (sandbox time): it
    # queued its REPORT_PROCESSING_FINISHED notification, or found no subscription that wants
    # it. Empty while the report is unfinished or not yet looked at.
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["selling_partner_id", "region", "created_at"])]

    def __str__(self) -> str:
        return f"report {self.report_id} {self.report_type}"

    @property
    def report_id(self) -> str:
        return str(REPORT_ID_BASE + self.pk)


class Fault(models.Model):
    """A fault armed through the control API; consumed by the next `remaining` matching calls."""

    class Kind(models.TextChoices):
        THROTTLE = "throttle", "answer 429 QuotaExceeded"
        ERROR_500 = "error500", "answer 500"
        ERROR_503 = "error503", "answer 503"
        TIMEOUT = "timeout", "hold the response for hold_seconds, then answer normally"
        DENY = "deny", "answer 403 Unauthorized (the app lacks the role for the operation)"
        EXPIRE_URL = "expire_url", "answer a document download as an expired URL (403)"
        REPORT_STUCK = "report_stuck", "the next created report stays IN_PROGRESS"
        REPORT_FATAL = "report_fatal", "the next created report ends FATAL"
        REPORT_CANCELLED = "report_cancelled", "the next created report ends CANCELLED"
        NOTIFICATION_DROP = "notification_drop", "the next notification is never sent"
        NOTIFICATION_DUPLICATE = "notification_duplicate", "the next notification is sent twice"
        NOTIFICATION_DELAY = (
            "notification_delay",
            "the next notification is sent hold_seconds (sandbox time) late",
        )

    operation = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=32, choices=Kind)
    remaining = models.PositiveIntegerField(default=1)
    selling_partner_id = models.CharField(max_length=32, blank=True)
    region = models.CharField(max_length=2, blank=True)
    report_type = models.CharField(max_length=100, blank=True)
    hold_seconds = models.FloatField(default=0)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind} x{self.remaining} {self.operation or self.report_type}"


class AddedOrderBatch(models.Model):
    """Orders added to a seller's history through the control API (the generator's AddedOrders)."""

    selling_partner_id = models.CharField(max_length=32)
    region = models.CharField(max_length=2)
    placed_at = models.DateTimeField()
    count = models.PositiveIntegerField()
    fulfillment = models.CharField(max_length=3)
    marketplace_id = models.CharField(max_length=32, blank=True)
    batch_seed = models.BigIntegerField()
    # MFN orders the buyer cancels this long after payment, instead of their being shipped.
    cancel_after_seconds = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.count} {self.fulfillment} orders for {self.selling_partner_id}"


class CallRecord(models.Model):
    """One request the sandbox answered, so tests can check what a client did."""

    at = models.DateTimeField()
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=2000)
    operation = models.CharField(max_length=64)
    selling_partner_id = models.CharField(max_length=32, blank=True)
    region = models.CharField(max_length=2, blank=True)
    status = models.PositiveSmallIntegerField()

    def __str__(self) -> str:
        return f"{self.operation} {self.status}"


class NotificationDestination(models.Model):
    """Where the app asked Amazon to deliver notifications (createDestination): an SQS queue,
    on one region's endpoint."""

    destination_id = models.CharField(max_length=64, unique=True)
    region = models.CharField(max_length=2)
    name = models.CharField(max_length=256)
    sqs_arn = models.CharField(max_length=1000)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"destination {self.name} ({self.sqs_arn})"


class NotificationSubscription(models.Model):
    """A seller's subscription to one notification type (createSubscription); deleted ones
    keep their row with `deleted_at`."""

    subscription_id = models.CharField(max_length=64, unique=True)
    selling_partner_id = models.CharField(max_length=32)
    region = models.CharField(max_length=2)
    notification_type = models.CharField(max_length=64)
    payload_version = models.CharField(max_length=32)
    destination = models.ForeignKey(
        NotificationDestination, on_delete=models.CASCADE, related_name="subscriptions"
    )
    created_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["selling_partner_id", "region", "notification_type"])]

    def __str__(self) -> str:
        return f"{self.notification_type} for {self.selling_partner_id}/{self.region}"


class Notification(models.Model):
    """One notification Amazon decided to send, with what the faults made of it: dropped,
    sent twice (or, for a duplicate with a hold, a second row due later), or held back until
    `due_at` (sandbox time). `sent_at` is when it went to the queue; `delivery_error` says why
    it never arrived there (no such queue, as when Amazon may not write to it: Amazon says
    nothing either)."""

    notification_id = models.CharField(max_length=64, unique=True)
    subscription = models.ForeignKey(
        NotificationSubscription, on_delete=models.CASCADE, related_name="notifications"
    )
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="notifications")
    body = models.JSONField()
    due_at = models.DateTimeField()
    copies = models.PositiveSmallIntegerField(default=1)
    dropped = models.BooleanField(default=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivery_error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"notification {self.notification_id} for report {self.report_id}"
