"""Settings: connect Amazon accounts, see and fix their connection status; Data exchange » Log."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from amazon_settings import consent, push, selectors, services
from amazon_settings.exceptions import AmazonSettingsError, ConsentStateInvalid
from amazon_settings.forms import (
    ApiCallFilterForm,
    ConnectStartForm,
    ConsentCallbackForm,
    ImportStartForm,
    MarketplaceSelectionForm,
    OrderImportForm,
    PushSwitchForm,
    SelfAuthorizationForm,
)
from amazon_settings.models import SellerAccount
from core.pagination import LimitedCountPaginator

logger = logging.getLogger(__name__)


def _redirect_uri(request: HttpRequest) -> str:
    return settings.SPAPI_REDIRECT_URI or request.build_absolute_uri(
        reverse("amazon_settings:connect_callback")
    )


def _to_consent_page(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    # Amazon's guide: the state must not leak to third parties through the Referer header.
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def settings_page(request: HttpRequest) -> HttpResponse:
    accounts = list(SellerAccount.objects.select_related("push").prefetch_related("marketplaces"))
    rows = [
        (account, selectors.connection_status(account), *_account_forms(account))
        for account in accounts
    ]
    return render(
        request,
        "amazon_settings/settings.html",
        {
            "rows": rows,
            "connect_form": ConnectStartForm(),
            "self_form": SelfAuthorizationForm(),
            "checks": request.session.pop("connection_checks", None),
        },
    )


def _account_forms(account: SellerAccount) -> tuple[ImportStartForm, MarketplaceSelectionForm]:
    """The forms of an account's card: its "import orders from" date (the reports app saves
    it, as "Orders missing?" does) and its marketplaces."""
    import_form = ImportStartForm(
        account=account,
        auto_id=f"id_%s_{account.pk}",
        action=reverse("reports:diagnosis_import_start", args=[account.pk]),
        form_id=f"import-start-form-{account.pk}",
    )
    return import_form, MarketplaceSelectionForm(account=account)


@require_POST
def connect_start(request: HttpRequest) -> HttpResponse:
    form = ConnectStartForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the region of the account you want to connect."))
        return redirect("amazon_settings:settings")
    redirect_uri = _redirect_uri(request)
    state = consent.issue_state(
        request.session, region=form.cleaned_data["region"], redirect_uri=redirect_uri
    )
    return _to_consent_page(
        consent.consent_url(
            region=form.cleaned_data["region"], state=state, redirect_uri=redirect_uri
        )
    )


@require_POST
def renew(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(SellerAccount, pk=pk)
    redirect_uri = _redirect_uri(request)
    state = consent.issue_state(
        request.session,
        region=account.region,
        redirect_uri=redirect_uri,
        renew_account_id=account.pk,
    )
    return _to_consent_page(
        consent.consent_url(region=account.region, state=state, redirect_uri=redirect_uri)
    )


def _consent_error(request: HttpRequest, message: str, *, status: int = 400) -> HttpResponse:
    services.record_consent_event(error_message=message)
    return render(
        request, "amazon_settings/consent_error.html", {"message": message}, status=status
    )


@sensitive_variables("form")
@require_GET
def connect_callback(request: HttpRequest) -> HttpResponse:
    """Amazon's redirect after the consent page. Validates state, then exchanges the code."""
    if request.GET.get("error"):
        # The seller pressed Cancel (or Amazon refused); the state is spent either way.
        try:
            consent.consume_state(request.session, request.GET.get("state", ""))
        except ConsentStateInvalid:
            pass
        return _consent_error(
            request,
            _("The authorization was cancelled on Amazon's page, so no account was connected."),
            status=200,
        )
    form = ConsentCallbackForm(request.GET)
    try:
        pending = consent.consume_state(request.session, request.GET.get("state", ""))
    except ConsentStateInvalid as error:
        return _consent_error(request, str(error))
    if not form.is_valid():
        return _consent_error(
            request,
            _(
                "Amazon's answer was incomplete (no authorization code or seller ID). "
                "Start the connection again from Settings."
            ),
        )
    try:
        account = services.connect_seller(
            code=form.cleaned_data["spapi_oauth_code"],
            selling_partner_id=form.cleaned_data["selling_partner_id"],
            region=pending.region,
            redirect_uri=pending.redirect_uri,
            renew_account_id=pending.renew_account_id,
            acting_user=request.user,
        )
    except AmazonSettingsError as error:
        return _consent_error(request, str(error))
    count = account.marketplaces.count()
    if pending.renew_account_id:
        text = ngettext(
            "%(account)s is renewed: Amazon granted access to %(count)d marketplace.",
            "%(account)s is renewed: Amazon granted access to %(count)d marketplaces.",
            count,
        )
    else:
        text = ngettext(
            "%(account)s is connected: Amazon granted access to %(count)d marketplace.",
            "%(account)s is connected: Amazon granted access to %(count)d marketplaces.",
            count,
        )
    messages.success(request, text % {"account": account.display_name, "count": count})
    if pending.renew_account_id:
        return redirect("amazon_settings:settings")
    return _after_connecting(account)


def _after_connecting(account: SellerAccount) -> HttpResponse:
    """Where a new connection goes on: to the one question before its orders are imported,
    from which day (the reports app asks it and starts the import), until it is answered."""
    if account.order_import_active or account.import_orders_from is not None:
        return redirect("amazon_settings:settings")
    return redirect("reports:start_import", account_pk=account.pk)


@sensitive_post_parameters("refresh_token")
@require_POST
def self_authorize(request: HttpRequest) -> HttpResponse:
    form = SelfAuthorizationForm(request.POST)
    if form.is_valid():
        try:
            account = services.self_authorize(acting_user=request.user, **form.cleaned_data)
        except AmazonSettingsError as error:
            form.add_error("refresh_token", str(error))
        else:
            messages.success(
                request, _("%(account)s is connected.") % {"account": account.display_name}
            )
            return _after_connecting(account)
    accounts = list(SellerAccount.objects.prefetch_related("marketplaces"))
    return render(
        request,
        "amazon_settings/settings.html",
        {
            "rows": [(a, selectors.connection_status(a), *_account_forms(a)) for a in accounts],
            "connect_form": ConnectStartForm(),
            "self_form": form,
            "self_form_open": True,
        },
        status=400,
    )


@require_POST
def disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(SellerAccount, pk=pk)
    services.disconnect_account(account, acting_user=request.user)
    messages.success(
        request,
        _("%(account)s is disconnected: its token is deleted; its orders and log stay.")
        % {"account": account.display_name},
    )
    return redirect("amazon_settings:settings")


@require_POST
def check_connection(request: HttpRequest, pk: int) -> HttpResponse:
    """Settings' "Test connection": one call per check, the results shown on the account."""
    account = get_object_or_404(SellerAccount, pk=pk)
    checks = services.check_connection(account)
    request.session["connection_checks"] = {
        "account_id": account.pk,
        "results": [
            {"operation": check.operation, "ok": check.ok, "message": check.message}
            for check in checks
        ],
    }
    return redirect(f"{reverse('amazon_settings:settings')}#account-{account.pk}")


@require_POST
def order_import(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(SellerAccount, pk=pk)
    form = OrderImportForm(request.POST)
    if form.is_valid():
        try:
            services.set_order_import(account, active=form.cleaned_data["active"])
        except AmazonSettingsError as error:
            messages.error(request, str(error))
        else:
            if account.order_import_active:
                text = _("Order import for %(account)s is on.")
            else:
                text = _("Order import for %(account)s is off.")
            messages.success(request, text % {"account": account.display_name})
    return redirect("amazon_settings:settings")


@require_POST
def push_switch(request: HttpRequest, pk: int) -> HttpResponse:
    """Settings' push switch: on subscribes now (the answer is shown), off stops Amazon's
    notifications for the account."""
    account = get_object_or_404(SellerAccount, pk=pk)
    form = PushSwitchForm(request.POST)
    if form.is_valid():
        try:
            subscription = push.set_push(
                account, active=form.cleaned_data["active"], acting_user=request.user
            )
        except AmazonSettingsError as error:
            messages.error(request, str(error))
        else:
            status = selectors.push_status(account)
            text = _("%(status)s for %(account)s.") % {
                "status": status.label,
                "account": account.display_name,
            }
            if subscription.reason:
                text = f"{text} {subscription.reason}"
            (messages.success if status.tone == "success" else messages.warning)(request, text)
    return redirect(f"{reverse('amazon_settings:settings')}#account-{account.pk}")


@require_POST
def marketplaces(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(SellerAccount, pk=pk)
    form = MarketplaceSelectionForm(request.POST, account=account)
    if form.is_valid():
        services.select_marketplaces(account, marketplace_ids=form.cleaned_data["marketplace_ids"])
        messages.success(
            request, _("Marketplaces of %(account)s saved.") % {"account": account.display_name}
        )
    else:
        messages.error(request, _("Those marketplaces do not belong to this account."))
    return redirect("amazon_settings:settings")


@require_GET
def log(request: HttpRequest) -> HttpResponse:
    """Data exchange » Log: every call to Amazon, filterable, errors first to the eye."""
    form = ApiCallFilterForm(request.GET or None, operations=selectors.logged_operations())
    filters = {}
    if form.is_valid():
        data = form.cleaned_data
        if data.get("account"):
            filters["account"] = SellerAccount.objects.filter(pk=data["account"]).first()
        filters.update(
            operation=data.get("operation") or "",
            outcome=data.get("outcome") or "",
            since=data.get("since"),
            until=data.get("until"),
        )
    # Some 200,000 calls in 90 days: no COUNT(*) over all of them per view (core/pagination.py).
    page = LimitedCountPaginator(selectors.api_call_list(**filters), 50).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "amazon_settings/log.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "now": timezone.now(),
        },
    )
