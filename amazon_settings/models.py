from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from amazon_settings.vat_ids import validate_vat_id

# Amazon asks sellers to re-authorize a public app every 365 days
# (developer-docs.amazon.com/sp-api/docs/renew-authorizations).
AUTHORIZATION_LIFETIME = timedelta(days=365)
AUTHORIZATION_WARNING = timedelta(days=30)
# What an account imports when the seller set no start date: the month before it was connected.
DEFAULT_IMPORT_WINDOW = timedelta(days=30)


class Region(models.TextChoices):
    """Amazon's selling regions: one authorization covers every marketplace of a region."""

    EU = "eu", _("Europe")
    NA = "na", _("North America")


class SellerAccountQuerySet(models.QuerySet):
    def connected(self) -> SellerAccountQuerySet:
        """Accounts that hold a refresh token, whatever Amazon last said about it."""
        return self.exclude(refresh_token_encrypted="")

    def usable(self) -> SellerAccountQuerySet:
        """Accounts the worker may call Amazon for (`SellerAccount.is_usable`)."""
        return self.connected().exclude(status__in=SellerAccount.REFUSED_STATUSES)


class SellerAccount(models.Model):
    """An Amazon seller account, one per (selling partner ID, region).

    The refresh token is kept only as Fernet ciphertext (see `amazon_settings.crypto`); the status
    fields record the evidence of the last calls, from which the connection status is computed.
    """

    class Status(models.TextChoices):
        NEVER_CHECKED = "never_checked", _("Never checked")
        CONNECTED = "connected", _("Connected")
        ACCESS_DENIED = "access_denied", _("Access denied")
        AUTHORIZATION_REVOKED = "authorization_revoked", _("Authorization revoked")
        CLIENT_REJECTED = "client_rejected", _("App credentials rejected")
        UNREACHABLE = "unreachable", _("Amazon unreachable")
        DISCONNECTED = "disconnected", _("Disconnected")
        SELLER_MISMATCH = "seller_mismatch", _("Wrong seller ID")

    # Amazon refused the authorization (or it was removed): calling again cannot succeed until
    # the seller renews access, so the worker leaves these accounts alone. A seller mismatch
    # (Amazon's notifications for the authorization name another seller than the account's)
    # is one too: a call would succeed, but import another seller's orders under this ID.
    REFUSED_STATUSES = frozenset(
        {
            Status.DISCONNECTED,
            Status.AUTHORIZATION_REVOKED,
            Status.CLIENT_REJECTED,
            Status.ACCESS_DENIED,
            Status.SELLER_MISMATCH,
        }
    )
    # Statuses no call's outcome replaces (`services.note_success`, `note_failure`): only a new
    # authorization or disconnecting ends them.
    KEPT_STATUSES = frozenset({Status.SELLER_MISMATCH})

    class AuthorizationMethod(models.TextChoices):
        CONSENT = "consent", _("Amazon consent page")
        SELF = "self", _("Self-authorization (pasted refresh token)")

    selling_partner_id = models.CharField(max_length=32)
    region = models.CharField(max_length=2, choices=Region.choices)
    display_name = models.CharField(max_length=100)
    refresh_token_encrypted = models.TextField(blank=True, editable=False)
    authorization_method = models.CharField(
        max_length=16, choices=AuthorizationMethod.choices, default=AuthorizationMethod.CONSENT
    )
    authorized_at = models.DateTimeField(
        null=True, blank=True, help_text="When access was granted or last renewed."
    )
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.NEVER_CHECKED)
    status_detail = models.CharField(max_length=500, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    order_import_active = models.BooleanField(
        default=False,
        help_text="When on, the background worker imports this account's orders from Amazon.",
    )
    import_orders_from = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Orders placed since then are imported; empty means 30 days before the account "
        "was first connected.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)

    objects = SellerAccountQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["selling_partner_id", "region"], name="uniq_seller_account_per_region"
            )
        ]
        ordering = ["display_name", "pk"]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.selling_partner_id}, {self.get_region_display()})"

    @property
    def has_token(self) -> bool:
        return bool(self.refresh_token_encrypted)

    @property
    def import_start(self) -> datetime:
        """Since when the account's orders should be in the dashboard: the seller's "import
        orders from" date, by default `DEFAULT_IMPORT_WINDOW` before the account was first
        connected. Every page that shows or uses the date reads it here."""
        if self.import_orders_from is not None:
            return self.import_orders_from
        return (self.created_at or timezone.now()) - DEFAULT_IMPORT_WINDOW

    @property
    def is_usable(self) -> bool:
        """Whether the worker may call Amazon for this account (not after a refusal)."""
        return self.has_token and self.status not in self.REFUSED_STATUSES

    @property
    def authorization_expires_at(self):
        return self.authorized_at + AUTHORIZATION_LIFETIME if self.authorized_at else None

    @property
    def invoicing_data_missing(self) -> list[tuple[AccountMarketplace, list[str]]]:
        """The marketplaces in VCS Lite mode whose seller legal data is incomplete, with what
        is missing: while there is one, no invoice of the account is issued here. Reads the
        prefetched marketplaces when there are."""
        return [
            (marketplace, marketplace.invoicing_data_missing)
            for marketplace in self.marketplaces.all()
            if marketplace.invoicing_data_missing
        ]


class InvoicingMode(models.TextChoices):
    """Who issues the VAT invoices of a marketplace's sales (explained on Settings » Invoicing)."""

    AMAZON = "amazon", _("Amazon issues invoices (VCS)")
    VCS_LITE = "vcs_lite", _("I issue invoices from Amazon's data (VCS Lite)")
    NOT_HANDLED = "none", _("Invoices are not handled here")


# Where sellers on Amazon's European and American marketplaces are established: the seller's
# address on its invoices names one of these.
SELLER_COUNTRIES = (
    ("AT", _("Austria")),
    ("BE", _("Belgium")),
    ("BG", _("Bulgaria")),
    ("HR", _("Croatia")),
    ("CY", _("Cyprus")),
    ("CZ", _("Czechia")),
    ("DK", _("Denmark")),
    ("EE", _("Estonia")),
    ("FI", _("Finland")),
    ("FR", _("France")),
    ("DE", _("Germany")),
    ("GR", _("Greece")),
    ("HU", _("Hungary")),
    ("IE", _("Ireland")),
    ("IT", _("Italy")),
    ("LV", _("Latvia")),
    ("LT", _("Lithuania")),
    ("LU", _("Luxembourg")),
    ("MT", _("Malta")),
    ("NL", _("Netherlands")),
    ("PL", _("Poland")),
    ("PT", _("Portugal")),
    ("RO", _("Romania")),
    ("SK", _("Slovakia")),
    ("SI", _("Slovenia")),
    ("ES", _("Spain")),
    ("SE", _("Sweden")),
    ("GB", _("United Kingdom")),
    ("NO", _("Norway")),
    ("CH", _("Switzerland")),
    ("TR", _("Türkiye")),
    ("US", _("United States")),
    ("CA", _("Canada")),
    ("CN", _("China")),
    ("HK", _("Hong Kong")),
)
_COUNTRY_NAMES = dict(SELLER_COUNTRIES)

# The seller's legal data an invoice issued here must print (section 14 UStG and art. 226 of
# the EU VAT directive), with the words the missing-data messages use.
INVOICING_DATA_FIELDS = (
    ("seller_legal_name", _("legal name")),
    ("seller_street", _("street")),
    ("seller_postal_code", _("postal code")),
    ("seller_city", _("city")),
    ("seller_country", _("country")),
    ("seller_vat_id", _("VAT ID")),
)


class AccountMarketplaceQuerySet(models.QuerySet):
    def selected_ids(self) -> list[str]:
        """The marketplace IDs the seller imports (`selected`), sorted: what reports ask for."""
        return sorted(self.filter(selected=True).values_list("marketplace_id", flat=True))


class AccountMarketplace(models.Model):
    """A marketplace the seller participates in (from getMarketplaceParticipations)."""

    account = models.ForeignKey(
        SellerAccount, on_delete=models.CASCADE, related_name="marketplaces"
    )
    marketplace_id = models.CharField(max_length=20)
    country_code = models.CharField(max_length=2)
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, blank=True)
    domain = models.CharField(max_length=100, blank=True)
    is_participating = models.BooleanField(default=True)
    selected = models.BooleanField(
        default=True, help_text="Import this marketplace's orders (the seller may deselect some)."
    )
    # Invoicing. A marketplace is one country, so the legal data is per account and country:
    # what the invoices issued here for this marketplace's sales print as the seller.
    invoicing_mode = models.CharField(
        max_length=8, choices=InvoicingMode.choices, default=InvoicingMode.NOT_HANDLED
    )
    seller_legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    seller_street = models.CharField(_("street and number"), max_length=300, blank=True)
    seller_postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    seller_city = models.CharField(_("city"), max_length=120, blank=True)
    seller_country = models.CharField(
        _("country"), max_length=2, choices=SELLER_COUNTRIES, blank=True
    )
    seller_vat_id = models.CharField(
        _("VAT ID"), max_length=20, blank=True, validators=[validate_vat_id]
    )
    invoicing_changed_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AccountMarketplaceQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "marketplace_id"], name="uniq_marketplace_per_account"
            )
        ]
        ordering = ["country_code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.country_code})"

    @property
    def issues_invoices_here(self) -> bool:
        return self.invoicing_mode == InvoicingMode.VCS_LITE

    @property
    def invoicing_data_missing(self) -> list[str]:
        """What the seller must still enter before invoices for this marketplace are issued
        here; empty outside VCS Lite mode, where nothing is issued here anyway."""
        if not self.issues_invoices_here:
            return []
        return [
            str(label) for name, label in INVOICING_DATA_FIELDS if not getattr(self, name).strip()
        ]

    @property
    def seller_address_lines(self) -> list[str]:
        """The seller's address as an invoice prints it, line by line. The country's name is
        the one of the installation's language (LANGUAGE_CODE), whoever's request issues it, so
        that every invoice of a seller prints the same address."""
        lines = [self.seller_street, f"{self.seller_postal_code} {self.seller_city}".strip()]
        with translation.override(settings.LANGUAGE_CODE):
            lines.append(str(_COUNTRY_NAMES.get(self.seller_country, self.seller_country)))
        return [line for line in lines if line]


class ApiCall(models.Model):
    """One call to Amazon (SP-API or Login with Amazon): Data exchange » Log.

    Holds what an operator needs to see what happened, never a token and never a response body
    (which could hold buyer data).
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("Success")
        THROTTLED = "throttled", _("Throttled")
        DENIED = "denied", _("Access denied")
        CLIENT_ERROR = "client_error", _("Rejected request")
        SERVER_ERROR = "server_error", _("Amazon error")
        UNREACHABLE = "unreachable", _("Unreachable")

    at = models.DateTimeField(db_index=True)
    account = models.ForeignKey(
        SellerAccount, on_delete=models.SET_NULL, null=True, blank=True, related_name="api_calls"
    )
    operation = models.CharField(max_length=80)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    request_id = models.CharField(max_length=80, blank=True)
    error_code = models.CharField(max_length=80, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    attempt = models.PositiveSmallIntegerField(default=1)

    class Meta:
        indexes = [
            models.Index(fields=["account", "-at"], name="apicall_account_at"),
            # The log's operation filter: its choices, one index lookup per operation
            # (selectors.logged_operations), and the calls of one operation, newest first.
            models.Index(fields=["operation", "-at"], name="apicall_operation_at"),
        ]
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.operation} {self.http_status or '-'} at {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def is_error(self) -> bool:
        return self.outcome != self.Outcome.SUCCESS


class RateLimitBucket(models.Model):
    """A client-side token bucket shared by every process through the database.

    One row per (account, operation): the worker processes on all machines take tokens from
    the same row inside a transaction, so together they stay inside Amazon's rate.
    """

    key = models.CharField(max_length=200, unique=True)
    tokens = models.FloatField()
    updated_at = models.FloatField(help_text="Unix time of the last refill.")

    def __str__(self) -> str:
        return self.key


class NotificationDestination(models.Model):
    """Amazon's destination for this installation's SQS queue in one region (createDestination):
    made once, shared by every subscription of the region."""

    region = models.CharField(max_length=2, choices=Region.choices)
    sqs_arn = models.CharField(max_length=1000)
    destination_id = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["region", "sqs_arn"], name="uniq_notification_destination"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_region_display()}: {self.sqs_arn}"


class PushSubscription(models.Model):
    """Whether Amazon pushes the account's REPORT_PROCESSING_FINISHED notifications to our
    queue, and whether they arrive: Settings and "Orders missing?" show it.

    Only `amazon_settings.push` changes these fields. `next_attempt_at` is when the worker's
    push pass looks at the row again (subscribe, retry, verify, or delete a switched-off
    subscription at Amazon); None when nothing is due.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Subscribing")
        ACTIVE = "active", _("Active")
        FAILING = "failing", _("Not working")
        OFF = "off", _("Off")

    class Cause(models.TextChoices):
        NONE = "", "—"
        REFUSED = "refused", _("Amazon refused the subscription")
        SILENT = "silent", _("No notification arrived")

    account = models.OneToOneField(SellerAccount, on_delete=models.CASCADE, related_name="push")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    cause = models.CharField(max_length=16, choices=Cause.choices, default=Cause.NONE, blank=True)
    reason = models.CharField(max_length=1000, blank=True)
    # Indexed: each notification names its subscription, which tells whose authorization it is.
    subscription_id = models.CharField(max_length=100, blank=True, db_index=True)
    destination_id = models.CharField(max_length=100, blank=True)
    # Since when notifications count: a report Amazon finished before is not expected to have one.
    active_since = models.DateTimeField(null=True, blank=True)
    last_notification_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"push for {self.account}: {self.get_state_display()}"

    @property
    def is_working(self) -> bool:
        return self.state == self.State.ACTIVE
