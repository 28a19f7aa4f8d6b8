"""Business operations on seller accounts: connect, renew, disconnect, test, and calling Amazon.

Every call to Amazon for an account goes through `call_amazon`, which records the outcome as
evidence on the account (`status`, `last_success_at`, `last_error`): the connection status that
Settings shows is computed from that evidence, never guessed.

One module although it is longer than our usual 400 lines: connecting an account, testing it
and calling Amazon share the evidence bookkeeping (`_set_status`, `note_success`,
`note_failure`), the marketplaces' upsert and the access-token cache; split apart, each part
would reach into the others' private helpers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import requests
from cryptography.fernet import InvalidToken
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables
from django_q.tasks import async_task

from amazon_settings import crypto
from amazon_settings.error_texts import describe
from amazon_settings.exceptions import (
    AccountNotConnected,
    AmazonCallFailed,
    AuthorizationFailed,
    ConsentMismatch,
    TokenDecryptionFailed,
)
from amazon_settings.models import AccountMarketplace, ApiCall, PushSubscription, SellerAccount
from amazon_settings.ratelimit import DatabaseTokenBucket
from amazon_settings.spapi import (
    AppCredentials,
    CallRecord,
    DocumentError,
    LwaClient,
    SpApiAuthError,
    SpApiClient,
    SpApiError,
    SpApiThrottled,
    SpApiTransientError,
)
from amazon_settings.stored_texts import SELLER_MISMATCH
from core.audit import record_audit_event
from core.changes import record_changes
from core.stored_texts import stored_text

logger = logging.getLogger(__name__)

T = TypeVar("T")

Status = SellerAccount.Status

# LWA's refusals map to an account status, which tells the seller what to do next.
AUTH_REASON_STATUS = {
    "access_denied": Status.ACCESS_DENIED,
    "authorization_revoked": Status.AUTHORIZATION_REVOKED,
    "invalid_code": Status.AUTHORIZATION_REVOKED,
    "client_rejected": Status.CLIENT_REJECTED,
}


def _session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = settings.SPAPI_USER_AGENT
    return session


def lwa_client(*, account: SellerAccount | None = None) -> LwaClient:
    return LwaClient(
        settings.LWA_TOKEN_URL,
        AppCredentials(settings.LWA_CLIENT_ID, settings.LWA_CLIENT_SECRET),
        session=_session(),
        timeout=settings.SPAPI_TIMEOUT_SECONDS,
        on_call=lambda record: record_api_call(record, account=account),
    )


def _access_token_cache_key(account: SellerAccount) -> str:
    return f"spapi:access-token:{account.pk}"


def forget_access_token(account: SellerAccount) -> None:
    cache.delete(_access_token_cache_key(account))


def access_token_provider(account: SellerAccount) -> Callable[..., str]:
    """A token provider for the client: the LWA access token, cached across processes.

    The token is cached (encrypted, like everything secret at rest) until a minute before it
    expires; `force_refresh=True` fetches a new one, for when Amazon calls the cached one invalid.
    """
    key = _access_token_cache_key(account)

    @sensitive_variables("cached", "refresh_token", "token")
    def provide(*, force_refresh: bool = False) -> str:
        if not force_refresh:
            cached = cache.get(key)
            if cached:
                return crypto.decrypt_secret(cached)
        if not account.refresh_token_encrypted:
            raise AccountNotConnected(
                _("%(account)s is disconnected from Amazon.") % {"account": account.display_name}
            )
        refresh_token = crypto.decrypt_secret(account.refresh_token_encrypted)
        token = lwa_client(account=account).refresh_access_token(refresh_token)
        lifetime = (token.expires_at - timezone.now()).total_seconds() - 60
        if lifetime > 0:
            cache.set(key, crypto.encrypt_secret(token.value), timeout=int(lifetime))
        return token.value

    return provide


NOTIFICATIONS_SCOPE = "sellingpartnerapi::notifications"


def grantless_token_provider(scope: str = NOTIFICATIONS_SCOPE) -> Callable[..., str]:
    """A token provider for the grantless operations: an LWA `client_credentials` token for
    `scope`, which speaks for the app rather than a seller. Cached (encrypted) across
    processes until a minute before it expires, like the sellers' access tokens."""
    key = f"spapi:grantless-token:{scope}"

    @sensitive_variables("cached", "token")
    def provide(*, force_refresh: bool = False) -> str:
        if not force_refresh:
            cached = cache.get(key)
            if cached:
                return crypto.decrypt_secret(cached)
        token = lwa_client().client_credentials(scope)
        lifetime = (token.expires_at - timezone.now()).total_seconds() - 60
        if lifetime > 0:
            cache.set(key, crypto.encrypt_secret(token.value), timeout=int(lifetime))
        return token.value

    return provide


def _no_seller(*, force_refresh: bool = False) -> str:
    raise ValueError("this client speaks for the app only: it makes grantless calls")


def app_client(region: str, *, retries: int = 0) -> SpApiClient:
    """The SP-API client for the app's own (grantless) calls in a region: Notifications'
    destinations and `deleteSubscriptionById`. Its calls are logged without an account."""
    return SpApiClient(
        settings.SPAPI_ENDPOINTS[region],
        token_provider=_no_seller,
        grantless_token_provider=grantless_token_provider(),
        session=_session(),
        timeout=settings.SPAPI_TIMEOUT_SECONDS,
        user_agent=settings.SPAPI_USER_AGENT,
        rate_limiter=DatabaseTokenBucket(),
        grantless_limiter_key=f"app:{region}:",
        max_retries=retries,
        max_wait=settings.SPAPI_MAX_WAIT_SECONDS,
        on_call=lambda record: record_api_call(record, account=None),
    )


def client_for(account: SellerAccount, *, retries: int = 0) -> SpApiClient:
    """The SP-API client for the account's region, with its shared rate limiter and call log.

    `retries` are retries of a transient error inside one call. The worker's calls have none:
    the report's state retries the step with its backoff, so one step is one call.
    """
    return SpApiClient(
        settings.SPAPI_ENDPOINTS[account.region],
        token_provider=access_token_provider(account),
        session=_session(),
        timeout=settings.SPAPI_TIMEOUT_SECONDS,
        user_agent=settings.SPAPI_USER_AGENT,
        rate_limiter=DatabaseTokenBucket(),
        limiter_key=f"{account.selling_partner_id}:{account.region}:",
        max_retries=retries,
        max_wait=settings.SPAPI_MAX_WAIT_SECONDS,
        on_call=lambda record: record_api_call(record, account=account),
    )


def _outcome(record: CallRecord) -> str:
    status = record.status
    if status is None:
        return ApiCall.Outcome.UNREACHABLE
    if 200 <= status < 300:
        return ApiCall.Outcome.SUCCESS
    if status == 429:
        return ApiCall.Outcome.THROTTLED
    if status in (401, 403):
        return ApiCall.Outcome.DENIED
    if status >= 500:
        return ApiCall.Outcome.SERVER_ERROR
    return ApiCall.Outcome.CLIENT_ERROR


def record_api_call(record: CallRecord, *, account: SellerAccount | None) -> ApiCall:
    """Write one line of Data exchange » Log. The record holds no token and no body."""
    return ApiCall.objects.create(
        at=timezone.now(),
        account=account if account is not None and account.pk else None,
        operation=record.operation,
        method=record.method,
        path=record.path[:300],
        outcome=_outcome(record),
        http_status=record.status,
        duration_ms=max(0, int(record.duration_ms)),
        request_id=record.request_id or "",
        error_code=(record.error_code or "")[:80],
        error_message=(record.error_message or "")[:500],
        attempt=record.attempt,
    )


def _set_status(account: SellerAccount, status: str, detail: str = "") -> bool:
    """Set the status on the (unsaved) account; returns whether it changed, for
    `_save_status`."""
    now = timezone.now()
    changed = account.status != status
    if changed:
        account.status_changed_at = now
    account.status = status
    account.status_detail = detail[:500]
    return changed


def _save_status(
    account: SellerAccount, *, changed: bool, update_fields: list[str] | None = None
) -> None:
    """Save the account and, if its status changed, its `account.status_changed` event in the
    same transaction (the outbox webhooks read: `core.changes`)."""
    with transaction.atomic():
        account.save(update_fields=update_fields)
        if changed:
            _record_status_change(account)


def _record_status_change(account: SellerAccount) -> None:
    """The `account.status_changed` event, inside the caller's transaction."""
    record_changes(
        kind="account",
        event_type="account.status_changed",
        account_id=account.pk,
        entity_ids=[account.pk],
    )


_STATUS_FIELDS = ("status", "status_detail", "status_changed_at")


def _save_evidence(account: SellerAccount, *, changed: bool, update_fields: list[str]) -> None:
    """`_save_status` for a call's outcome, which never replaces a status in KEPT_STATUSES:
    the write is guarded on the stored status, since `account` may have been read before the
    status was set (a worker pass, a page). Where the status is kept, only the rest of the
    evidence is written, and `account` is given the stored status back."""
    values = {name: getattr(account, name) for name in update_fields}
    with transaction.atomic():
        written = (
            SellerAccount.objects.filter(pk=account.pk)
            .exclude(status__in=SellerAccount.KEPT_STATUSES)
            .update(**values)
        )
        if not written:
            SellerAccount.objects.filter(pk=account.pk).update(
                **{name: value for name, value in values.items() if name not in _STATUS_FIELDS}
            )
            account.refresh_from_db(fields=list(_STATUS_FIELDS))
            return
        if changed:
            _record_status_change(account)


def note_success(account: SellerAccount) -> None:
    now = timezone.now()
    account.last_attempt_at = now
    account.last_success_at = now
    changed = _set_status(account, Status.CONNECTED)
    _save_evidence(
        account,
        changed=changed,
        update_fields=["last_attempt_at", "last_success_at", *_STATUS_FIELDS],
    )


def note_failure(account: SellerAccount, error: SpApiError) -> None:
    """Record a failed call as evidence. Only auth and reachability change the status."""
    now = timezone.now()
    account.last_attempt_at = now
    account.last_error = str(error)[:1000]
    account.last_error_at = now
    changed = False
    if isinstance(error, SpApiAuthError):
        changed = _set_status(
            account, AUTH_REASON_STATUS.get(error.reason, Status.ACCESS_DENIED), str(error)
        )
        forget_access_token(account)
    elif (
        isinstance(error, SpApiTransientError)
        and error.status is None
        and not isinstance(error, SpApiThrottled | DocumentError)
    ):
        # No answer at all (refused, timed out): Amazon is out of reach. A local throttle or a
        # broken download says nothing about reachability.
        changed = _set_status(account, Status.UNREACHABLE, str(error))
    _save_evidence(
        account,
        changed=changed,
        update_fields=["last_attempt_at", "last_error", "last_error_at", *_STATUS_FIELDS],
    )


SELLER_MISMATCH_AUDIT_ACTION = "amazon_settings:seller_mismatch"


def mark_seller_mismatch(account: SellerAccount, *, notified_seller_id: str) -> bool:
    """Amazon's notifications for the account's authorization (its push subscription) name
    `notified_seller_id`, not the account's seller: the account was connected under a wrong
    seller ID (the consent callback's `selling_partner_id` can be changed, and no call tells
    whose a token is). Mark it SELLER_MISMATCH, with the cause and the fix for Settings and
    the banner, so that the worker stops importing another seller's orders under this ID;
    record the change's event and an audit event. Only a new authorization (`_authorize`) or
    disconnecting ends the mark: no call's outcome does (`_save_evidence`). Returns whether
    the account was marked now; idempotent, and a disconnected account is left alone."""
    with transaction.atomic():
        locked = SellerAccount.objects.select_for_update().filter(pk=account.pk).first()
        if locked is None or not locked.has_token or locked.status == Status.SELLER_MISMATCH:
            return False
        detail = stored_text(
            SELLER_MISMATCH,
            notified_seller_id=notified_seller_id,
            account_seller_id=locked.selling_partner_id,
        )
        changed = _set_status(locked, Status.SELLER_MISMATCH, detail)
        _save_status(locked, changed=changed, update_fields=list(_STATUS_FIELDS))
        record_audit_event(
            user=None,
            action=SELLER_MISMATCH_AUDIT_ACTION,
            object_type="seller account",
            object_id=str(locked.pk),
            detail=locked.status_detail,
        )
    for name in _STATUS_FIELDS:
        setattr(account, name, getattr(locked, name))
    forget_access_token(account)
    logger.warning(
        "Seller account %s (%s) marked: Amazon's notifications for its authorization come from "
        "seller %s",
        account.pk,
        account.selling_partner_id,
        notified_seller_id,
    )
    return True


def call_amazon(
    account: SellerAccount, operation: Callable[[SpApiClient], T], *, retries: int = 0
) -> T:
    """Run `operation` with the account's client and record its outcome on the account.

    Raises AccountNotConnected without calling Amazon when there is no token; re-raises the
    client's SpApiError after recording it, so that the worker can sort it (transient, auth,
    rejected). `retries`: see `client_for`.
    """
    if not account.has_token:
        raise AccountNotConnected(
            _("%(account)s is not connected to Amazon. Connect it in Settings.")
            % {"account": account.display_name}
        )
    try:
        result = operation(client_for(account, retries=retries))
    except SpApiError as error:
        note_failure(account, error)
        raise
    note_success(account)
    return result


def call_amazon_for_user(account: SellerAccount, operation: Callable[[SpApiClient], T]) -> T:
    """`call_amazon` for a call a person waits on (a button on a page).

    A transient error is retried settings.SPAPI_INTERACTIVE_RETRIES times inside the call, since
    nobody comes back later to retry it. Amazon's refusal is raised as AmazonCallFailed, with
    the client's sentence, so views catch this app's errors only; AccountNotConnected as is.
    """
    try:
        return call_amazon(account, operation, retries=settings.SPAPI_INTERACTIVE_RETRIES)
    except SpApiError as error:
        raise AmazonCallFailed(describe(error)) from error


@dataclass(frozen=True)
class ConnectionCheck:
    operation: str
    ok: bool
    message: str


def check_connection(account: SellerAccount) -> list[ConnectionCheck]:
    """Call getMarketplaceParticipations and getReportSchedules and report each result.

    getReportSchedules is the call PlentyONE's guide names for missing access rights. A person
    waits for the answer, so a transient error is retried inside the call (see
    `call_amazon_for_user`); every outcome is recorded on the account as evidence.
    """
    checks = []
    for label, call in (
        ("Sellers.getMarketplaceParticipations", lambda c: c.get_marketplace_participations()),
        (
            "Reports.getReportSchedules",
            lambda c: c.get_report_schedules(
                report_types=["GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING"]
            ),
        ),
    ):
        try:
            result = call_amazon(account, call, retries=settings.SPAPI_INTERACTIVE_RETRIES)
        except SpApiError as error:
            checks.append(ConnectionCheck(label, False, describe(error)))
            if isinstance(error, SpApiAuthError) and error.reason != "access_denied":
                break  # without a token the next call cannot succeed either
            continue
        except AccountNotConnected as error:
            checks.append(ConnectionCheck(label, False, str(error)))
            break
        if label.startswith("Sellers"):
            _store_marketplaces(account, result)
            countries = ", ".join(p.country_code for p in result)
            found = ngettext(
                "%(count)d marketplace: %(countries)s",
                "%(count)d marketplaces: %(countries)s",
                len(result),
            ) % {"count": len(result), "countries": countries}
            checks.append(ConnectionCheck(label, True, found))
        else:
            checks.append(ConnectionCheck(label, True, _("Amazon granted access to reports.")))
    return checks


def _store_marketplaces(account: SellerAccount, participations: list) -> list[AccountMarketplace]:
    """Upsert the account's marketplaces, keeping the seller's selection."""
    stored = []
    for participation in participations:
        marketplace, _unused = AccountMarketplace.objects.update_or_create(
            account=account,
            marketplace_id=participation.marketplace_id,
            defaults={
                "country_code": participation.country_code[:2],
                "name": participation.name,
                "currency": participation.currency or "",
                "domain": participation.domain or "",
                "is_participating": participation.is_participating,
            },
        )
        stored.append(marketplace)
    return stored


@sensitive_variables("refresh_token", "probe")
def _authorize(
    *,
    selling_partner_id: str,
    region: str,
    refresh_token: str,
    method: str,
    display_name: str = "",
    acting_user: AbstractBaseUser | None,
) -> SellerAccount:
    """Store a refresh token only after a successful call with it, then read marketplaces."""
    probe = SellerAccount(
        selling_partner_id=selling_partner_id,
        region=region,
        display_name=display_name or selling_partner_id,
        refresh_token_encrypted=crypto.encrypt_secret(refresh_token),
    )
    try:
        participations = SpApiClient(
            settings.SPAPI_ENDPOINTS[region],
            token_provider=_unsaved_token_provider(refresh_token),
            session=_session(),
            timeout=settings.SPAPI_TIMEOUT_SECONDS,
            user_agent=settings.SPAPI_USER_AGENT,
            # The seller waits on the consent callback or the form for this call.
            max_retries=settings.SPAPI_INTERACTIVE_RETRIES,
            on_call=lambda record: record_api_call(record, account=None),
        ).get_marketplace_participations()
    except SpApiError as error:
        raise AuthorizationFailed(
            _("Amazon did not accept the authorization, so nothing was saved: %(error)s")
            % {"error": describe(error)}
        ) from error

    store_name = next((p.store_name for p in participations if p.store_name), "")
    now = timezone.now()
    with transaction.atomic():
        account, created = SellerAccount.objects.select_for_update().get_or_create(
            selling_partner_id=selling_partner_id,
            region=region,
            defaults={"display_name": display_name or store_name or f"Seller {selling_partner_id}"},
        )
        account.refresh_token_encrypted = probe.refresh_token_encrypted
        account.authorization_method = method
        account.authorized_at = now
        account.disconnected_at = None
        if display_name:
            account.display_name = display_name
        account.last_success_at = now
        account.last_attempt_at = now
        account.last_error = ""
        changed = _set_status(account, Status.CONNECTED)
        _save_status(account, changed=changed)
        _store_marketplaces(account, participations)
    forget_access_token(account)
    start_push(account)
    logger.info(
        "Seller %s (%s) %s by %s",
        selling_partner_id,
        region,
        "connected" if created else "renewed",
        getattr(acting_user, "pk", None),
    )
    return account


def start_push(account: SellerAccount) -> None:
    """After a connection or renewal: subscribe the account to Amazon's notifications in the
    background (`amazon_settings.push.subscribe_account`), unless this installation has no
    queue or the seller switched push off. The worker's push pass retries what fails."""
    if not settings.PUSH_SQS_QUEUE_URL:
        return
    subscription, _unused = PushSubscription.objects.get_or_create(account=account)
    if subscription.state == PushSubscription.State.OFF:
        return
    PushSubscription.objects.filter(pk=subscription.pk).update(next_attempt_at=timezone.now())
    async_task("amazon_settings.tasks.subscribe_to_notifications", account.pk, group="push")


def _unsaved_token_provider(refresh_token: str) -> Callable[..., str]:
    @sensitive_variables("refresh_token")
    def provide(*, force_refresh: bool = False) -> str:
        return lwa_client().refresh_access_token(refresh_token).value

    return provide


def check_consent_answer(
    *, selling_partner_id: str, region: str, renew_account_id: int | None
) -> None:
    """Refuse a consent answer that does not fit the flow that was started. Raises
    ConsentMismatch; stores nothing.

    Amazon's redirect names the seller in a query parameter that anyone holding the callback
    URL can change, and a refresh token says nowhere whose it is. So the flow decides: a
    renewal may only renew the account it was started for, and a new connection may not take
    over a seller that is connected already (that is what Renew access is for).
    """
    if renew_account_id is not None:
        account = SellerAccount.objects.filter(pk=renew_account_id).first()
        if account is None:
            raise ConsentMismatch(
                _("The account you started renewing no longer exists, so nothing was saved.")
            )
        if (account.selling_partner_id, account.region) != (selling_partner_id, region):
            raise ConsentMismatch(
                _(
                    "You started renewing %(account)s (%(renewed_id)s), but Amazon's answer is "
                    "for seller %(seller_id)s. Nothing was saved. Log in to Seller Central as "
                    "%(account)s and renew again."
                )
                % {
                    "account": account.display_name,
                    "renewed_id": account.selling_partner_id,
                    "seller_id": selling_partner_id,
                }
            )
        return
    existing = (
        SellerAccount.objects.connected()
        .filter(selling_partner_id=selling_partner_id, region=region)
        .first()
    )
    if existing is not None:
        raise ConsentMismatch(
            _(
                "Seller %(seller_id)s is already connected as %(account)s, so nothing was saved. "
                "To give it a new authorization, use Renew access on %(account)s."
            )
            % {"seller_id": selling_partner_id, "account": existing.display_name}
        )


@sensitive_variables("code", "grant")
def connect_seller(
    *,
    code: str,
    selling_partner_id: str,
    region: str,
    redirect_uri: str,
    renew_account_id: int | None = None,
    acting_user: AbstractBaseUser | None,
) -> SellerAccount:
    """Exchange the consent code at Login with Amazon and store the account, or renew the
    account `renew_account_id` the flow was started for.

    Raises ConsentMismatch (see `check_consent_answer`) before the code is exchanged, and
    AuthorizationFailed when Amazon refuses the code; either way nothing is stored.
    """
    check_consent_answer(
        selling_partner_id=selling_partner_id, region=region, renew_account_id=renew_account_id
    )
    try:
        grant = lwa_client().exchange_code(code, redirect_uri=redirect_uri)
    except SpApiError as error:
        raise AuthorizationFailed(
            _("Amazon did not accept the authorization, so nothing was saved: %(error)s")
            % {"error": describe(error)}
        ) from error
    return _authorize(
        selling_partner_id=selling_partner_id,
        region=region,
        refresh_token=grant.refresh_token,
        method=SellerAccount.AuthorizationMethod.CONSENT,
        acting_user=acting_user,
    )


@sensitive_variables("refresh_token")
def self_authorize(
    *,
    selling_partner_id: str,
    region: str,
    refresh_token: str,
    display_name: str = "",
    acting_user: AbstractBaseUser | None,
) -> SellerAccount:
    """Store a refresh token pasted from Seller Central's self-authorization, after a test call."""
    return _authorize(
        selling_partner_id=selling_partner_id,
        region=region,
        refresh_token=refresh_token.strip(),
        method=SellerAccount.AuthorizationMethod.SELF,
        display_name=display_name,
        acting_user=acting_user,
    )


def disconnect_account(account: SellerAccount, *, acting_user: AbstractBaseUser | None) -> None:
    """Delete the token and stop importing; the account, its orders and its log stay."""
    with transaction.atomic():
        account.refresh_token_encrypted = ""
        account.order_import_active = False
        account.disconnected_at = timezone.now()
        changed = _set_status(account, Status.DISCONNECTED, "Disconnected in Settings.")
        _save_status(account, changed=changed)
    forget_access_token(account)
    logger.info(
        "Seller %s disconnected by %s", account.selling_partner_id, getattr(acting_user, "pk", None)
    )


def set_order_import(account: SellerAccount, *, active: bool) -> SellerAccount:
    if active and not account.has_token:
        raise AccountNotConnected(
            _("%(account)s is not connected to Amazon. Renew access first.")
            % {"account": account.display_name}
        )
    account.order_import_active = active
    account.save(update_fields=["order_import_active"])
    return account


def select_marketplaces(account: SellerAccount, *, marketplace_ids: list[str]) -> None:
    """Choose which of the account's marketplaces are imported."""
    chosen = set(marketplace_ids)
    for marketplace in account.marketplaces.all():
        selected = marketplace.marketplace_id in chosen
        if marketplace.selected != selected:
            marketplace.selected = selected
            marketplace.save(update_fields=["selected"])


def set_marketplace_invoicing(
    marketplace: AccountMarketplace,
    *,
    invoicing_mode: str,
    seller_legal_name: str,
    seller_street: str,
    seller_postal_code: str,
    seller_city: str,
    seller_country: str,
    seller_vat_id: str,
    acting_user: AbstractBaseUser | None,
) -> AccountMarketplace:
    """Store who issues the marketplace's invoices and the seller's legal data printed on the
    invoices issued here. Raises ValidationError for a value the model refuses (an unknown
    mode or country, a malformed VAT ID). Issuing what waits for this data is the orders app's
    (`orders.services.invoicing.configure_invoicing`)."""
    values = {
        "invoicing_mode": invoicing_mode,
        "seller_legal_name": seller_legal_name.strip(),
        "seller_street": seller_street.strip(),
        "seller_postal_code": seller_postal_code.strip(),
        "seller_city": seller_city.strip(),
        "seller_country": seller_country,
        "seller_vat_id": seller_vat_id,
    }
    for name, value in values.items():
        setattr(marketplace, name, value)
    marketplace.full_clean()
    marketplace.invoicing_changed_at = timezone.now()
    marketplace.save(update_fields=[*values, "invoicing_changed_at"])
    logger.info(
        "Invoicing of %s set to %s by %s",
        marketplace,
        marketplace.invoicing_mode,
        acting_user.get_username() if acting_user is not None else "the system",
    )
    return marketplace


def prune_api_calls(*, older_than: timedelta = timedelta(days=90)) -> int:
    """Delete log entries older than `older_than`. Idempotent."""
    deleted, _unused = ApiCall.objects.filter(at__lt=timezone.now() - older_than).delete()
    return deleted


def record_consent_event(*, error_message: str) -> ApiCall:
    """Log a refused consent callback (bad or reused state, cancelled consent) for operators."""
    return ApiCall.objects.create(
        at=timezone.now(),
        operation="Consent.callback",
        method="GET",
        path="/settings/connect/callback/",
        outcome=ApiCall.Outcome.CLIENT_ERROR,
        error_message=error_message[:500],
    )


def reencrypt_tokens() -> int:
    """Re-encrypt every stored refresh token with the newest TOKEN_ENCRYPTION_KEYS key.

    The first step of a key rotation: put the new key first (keeping the old ones), run this,
    then drop the old keys. All or nothing: when a token cannot be read with any configured
    key, raises TokenDecryptionFailed naming its account and changes nothing. Cached access
    tokens are forgotten, since they are encrypted with the old key too. Returns the number of
    tokens re-encrypted; running it twice is harmless.
    """
    with transaction.atomic():
        accounts = list(SellerAccount.objects.select_for_update().connected())
        unreadable = []
        for account in accounts:
            try:
                account.refresh_token_encrypted = crypto.reencrypt_secret(
                    account.refresh_token_encrypted
                )
            except InvalidToken:
                unreadable.append(str(account))
        if unreadable:
            raise TokenDecryptionFailed(
                "No configured key reads the token of "
                + ", ".join(unreadable)
                + ": keep the key it was encrypted with in TOKEN_ENCRYPTION_KEYS, or renew "
                "access for these accounts. Nothing was re-encrypted."
            )
        SellerAccount.objects.bulk_update(accounts, ["refresh_token_encrypted"])
    for account in accounts:
        forget_access_token(account)
    return len(accounts)
