"""Settings » Webhooks: administrators subscribe receivers to events, read each one's delivery
log and send a delivery again.

Like the token page, only users with `api.manage_apitoken` reach these pages (a subscription
reads what a token with its events' scopes reads): `core.roles` checks it by the URL namespace,
and audits every POST.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amazon_settings.exceptions import TokenDecryptionFailed
from api import webhooks
from api.exceptions import WebhookError
from api.forms import WebhookForm
from api.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from core.audit import mark_audited
from core.pagination import LimitedCountPaginator

DELIVERIES_PER_PAGE = 50


def subscription_list(request: HttpRequest) -> HttpResponse:
    """The subscriptions, and the form for a new one; a new subscription's secret is shown on
    this answer (and later only by "Show secret", which is audited)."""
    secret = None
    created = None
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = webhooks.create_subscription(
                **form.cleaned_data, acting_user=request.user
            )
        except WebhookError as error:
            form.add_error(None, str(error))
        else:
            form = WebhookForm()
    return render(
        request,
        "api/webhooks.html",
        {
            "form": form,
            "subscriptions": WebhookSubscription.objects.order_by("-is_active", "name"),
            "secret": secret,
            "created": created,
        },
    )


def subscription_detail(
    request: HttpRequest, pk: int, *, secret: str | None = None
) -> HttpResponse:
    """One subscription: its settings (changed by POST), its notice if it was switched off, and
    its delivery log, newest first, each delivery with its tries."""
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    form = WebhookForm(
        request.POST if request.method == "POST" and secret is None else None,
        instance=subscription,
    )
    if form.is_bound and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "name"}
        try:
            webhooks.update_subscription(subscription, **data, acting_user=request.user)
        except WebhookError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The webhook is saved."))
            return redirect("api_webhooks:detail", pk=subscription.pk)
    deliveries = (
        WebhookDelivery.objects.filter(subscription=subscription)
        .prefetch_related(Prefetch("tries", queryset=WebhookAttempt.objects.order_by("-at", "-pk")))
        .order_by("-id")
    )
    page = LimitedCountPaginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "api/webhook_detail.html",
        {
            "subscription": subscription,
            "form": form,
            "page": page,
            "secret": secret,
        },
    )


@require_POST
def reveal_secret(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    try:
        secret = webhooks.reveal_secret(subscription, acting_user=request.user)
    except TokenDecryptionFailed:
        messages.error(
            request,
            _(
                "The secret cannot be decrypted with the configured keys: delete the webhook and "
                "subscribe again."
            ),
        )
        return redirect("api_webhooks:detail", pk=pk)
    mark_audited(request)
    return subscription_detail(request, pk, secret=secret)


@require_POST
def enable(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = webhooks.set_active(
        get_object_or_404(WebhookSubscription, pk=pk), active=True, acting_user=request.user
    )
    messages.success(
        request, _("“%(name)s” is on: what waited is sent now.") % {"name": subscription.name}
    )
    return redirect("api_webhooks:detail", pk=pk)


@require_POST
def disable(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = webhooks.set_active(
        get_object_or_404(WebhookSubscription, pk=pk), active=False, acting_user=request.user
    )
    messages.success(
        request,
        _("“%(name)s” is off: its events wait until it is switched on again.")
        % {"name": subscription.name},
    )
    return redirect("api_webhooks:detail", pk=pk)


@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    name = subscription.name
    webhooks.delete_subscription(subscription, acting_user=request.user)
    messages.success(request, _("“%(name)s” is deleted.") % {"name": name})
    return redirect("api_webhooks:list")


@require_POST
def redeliver(request: HttpRequest, pk: int, delivery_id: int) -> HttpResponse:
    delivery = get_object_or_404(
        WebhookDelivery.objects.select_related("subscription"), pk=delivery_id, subscription_id=pk
    )
    try:
        webhooks.redeliver(delivery, acting_user=request.user)
    except WebhookError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Event %(event)s is sent again within a minute.") % {"event": delivery.event_id},
        )
    return redirect("api_webhooks:detail", pk=pk)
