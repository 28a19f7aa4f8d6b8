"""Reports » Request: the form, and how it previews the requests a range becomes.

The request rules (region, range, look-back) live in `reports.services.requesting`; the form
calls them and puts their sentence on the field the seller has to change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Div, Field, Layout, Row
from django import forms
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from amazon_settings.models import AccountMarketplace, SellerAccount
from core.forms import submit_button
from core.templatetags.moments import day
from reports.catalog import BY_KEY, CATALOG, GROUPS, ReportKind
from reports.exceptions import InvalidReportRequest
from reports.forms.fields import (
    DATETIME_LOCAL_FORMAT,
    KindSelect,
    datetime_local_field,
    kind_choices,
)
from reports.services.requesting import split_range, validate_request


def _field_for(error: InvalidReportRequest) -> str:
    """The form field a `validate_request` refusal belongs to (the service names it)."""
    return error.field if error.field in ("kind", "start", "end") else "kind"


@dataclass(frozen=True)
class SplitPreview:
    text: str
    ok: bool


@dataclass(frozen=True)
class RangePreset:
    """A ready range under the date fields: a link that opens the form with it (without a
    script), and its values for static/js/app.js to fill in (with one)."""

    key: str
    label: str
    start: datetime
    end: datetime
    account_pk: int | None = None  # set for a range that depends on the account

    def values(self) -> tuple[str, str]:
        return (
            timezone.localtime(self.start).strftime(DATETIME_LOCAL_FORMAT),
            timezone.localtime(self.end).strftime(DATETIME_LOCAL_FORMAT),
        )


# The presets' keys as the query string gives them: days back, or the import start.
PRESET_DAYS = {"7": 7, "30": 30, "60": 60}
SINCE_IMPORT_START = "import-start"


class ReportRequestForm(forms.Form):
    """Reports » Request: one report type for one connected account, over a date range."""

    account = forms.ModelChoiceField(
        label=_("Account"),
        queryset=SellerAccount.objects.all(),
        empty_label=None,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    kind = forms.ChoiceField(
        label=_("Report type"),
        choices=kind_choices,
        widget=KindSelect(attrs={"class": "form-select"}),
    )
    marketplace_ids = forms.MultipleChoiceField(
        label=_("Marketplaces"),
        choices=(),
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        error_messages={"required": _("Choose at least one marketplace.")},
    )
    start = datetime_local_field(_("Start"))
    end = datetime_local_field(_("End"))

    def __init__(
        self, *args: Any, now: datetime | None = None, preset: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()
        self.accounts = list(SellerAccount.objects.connected().prefetch_related("marketplaces"))
        account_field = self.fields["account"]
        # Only connected accounts are offered; a disconnected one that is still posted (it was
        # disconnected meanwhile) gets a sentence, not "select a valid choice".
        account_field.choices = [(account.pk, str(account)) for account in self.accounts]
        self.fields["marketplace_ids"].choices = sorted(
            {(m.marketplace_id, m.name) for a in self.accounts for m in self._selected(a)}
        )
        if not self.is_bound:
            # The range of the preset asked for (a link under the dates), else the last 7 days.
            presets = self.presets()
            account = str(self.chosen_account.pk if self.chosen_account else "")
            chosen = next(
                (
                    p
                    for p in presets
                    if p.key == preset and (p.account_pk is None or str(p.account_pk) == account)
                ),
                presets[0],
            )
            self.initial.setdefault("start", chosen.start)
            self.initial.setdefault("end", chosen.end)
            region = self.chosen_account.region if self.chosen_account else ""
            first = next(
                (
                    k
                    for g in GROUPS
                    for k in CATALOG
                    if k.group == g and k.offered and region in k.regions
                ),
                None,
            )
            self.initial.setdefault("kind", first.key if first else CATALOG[0].key)
        self.helper = self._helper()

    @staticmethod
    def _helper() -> FormHelper:
        helper = FormHelper()
        helper.form_id = "request-form"
        helper.form_action = "reports:request"
        helper.attrs = {"novalidate": ""}
        helper.layout = Layout(
            # Any change of the fields re-computes the preview below them (htmx).
            Div(
                "account",
                "kind",
                HTML(
                    '<div class="form-text mb-3" id="kind-description">'
                    "{{ form.chosen_kind.description }}</div>"
                ),
                # One group of checkboxes per account, the chosen one's shown (static/js/app.js).
                Field("marketplace_ids", template="reports/_request_marketplaces.html"),
                Row(
                    Column("start", css_class="col-sm-6"),
                    Column("end", css_class="col-sm-6"),
                    HTML('{% include "reports/_request_zone.html" %}'),
                    css_class="g-3 date-range",
                ),
                HTML('{% include "reports/_request_presets.html" %}'),
                **{
                    "hx-post": reverse_lazy("reports:request_preview"),
                    "hx-trigger": "change, load",
                    "hx-include": "closest form",
                    "hx-target": "#request-preview",
                    "hx-swap": "outerHTML",
                },
            ),
            HTML('{% include "reports/_request_preview.html" %}'),
            submit_button(format_lazy('<i class="bi bi-cloud-download"></i> {}', _("Request"))),
        )
        return helper

    @staticmethod
    def _selected(account: SellerAccount) -> list[AccountMarketplace]:
        return [m for m in account.marketplaces.all() if m.selected]

    def clean_account(self) -> SellerAccount:
        account: SellerAccount = self.cleaned_data["account"]
        if not account.has_token:
            raise forms.ValidationError(
                _("%(account)s is not connected to Amazon. Renew access in Settings."),
                params={"account": account.display_name},
            )
        return account

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        account, kind_key = data.get("account"), data.get("kind")
        start, end = data.get("start"), data.get("end")
        if account is not None and data.get("marketplace_ids"):
            own = {m.marketplace_id for m in account.marketplaces.all() if m.selected}
            if not set(data["marketplace_ids"]) <= own:
                self.add_error(
                    "marketplace_ids",
                    gettext("Choose marketplaces of %(account)s.")
                    % {"account": account.display_name},
                )
        if account is not None and kind_key and start and end:
            try:
                validate_request(account, kind=BY_KEY[kind_key], start=start, end=end, now=self.now)
            except InvalidReportRequest as error:
                self.add_service_error(error)
        return data

    def add_service_error(self, error: InvalidReportRequest) -> None:
        """Show a refusal of `validate_request` / `request_reports` next to its field."""
        self.add_error(_field_for(error), str(error))

    @property
    def chosen_account(self) -> SellerAccount | None:
        value = self["account"].value()
        chosen = next((a for a in self.accounts if str(a.pk) == str(value)), None)
        return chosen or (self.accounts[0] if self.accounts else None)

    def presets(self) -> list[RangePreset]:
        """The last 7, 30 and 60 days (from midnight that many days ago until now, in the
        user's time zone), and for each connected account its range since "Import orders from"
        (`SellerAccount.import_start`)."""
        local_now = timezone.localtime(self.now).replace(second=0, microsecond=0)
        presets = [
            RangePreset(
                key=key,
                label=ngettext("Last %(days)d day", "Last %(days)d days", days) % {"days": days},
                # Made aware on its own: a summer time change in between keeps it midnight.
                start=timezone.make_aware(
                    datetime.combine(local_now.date() - timedelta(days=days), time())
                ),
                end=local_now,
            )
            for key, days in PRESET_DAYS.items()
        ]
        presets += [
            RangePreset(
                key=SINCE_IMPORT_START,
                label=gettext("Since “Import orders from” (%(day)s)")
                % {"day": day(timezone.localtime(account.import_start))},
                start=min(timezone.localtime(account.import_start), local_now),
                end=local_now,
                account_pk=account.pk,
            )
            for account in self.accounts
        ]
        return presets

    @property
    def chosen_kind(self) -> ReportKind | None:
        return BY_KEY.get(str(self["kind"].value() or ""))

    def marketplace_groups(self) -> list[dict[str, Any]]:
        """Each connected account's selected marketplaces, with the ticks to show.

        All are ticked by default; the chosen account keeps what the seller posted, unless the
        post held only another account's marketplaces (the account was switched without script).
        """
        chosen = self.chosen_account
        posted = set(self.data.getlist("marketplace_ids")) if self.is_bound else None
        groups = []
        for account in self.accounts:
            current = chosen is not None and account.pk == chosen.pk
            marketplaces = self._selected(account)
            own = {m.marketplace_id for m in marketplaces}
            keep = current and posted is not None and (not posted or bool(posted & own))
            ticks = posted if keep else None
            groups.append(
                {
                    "account": account,
                    "current": current,
                    "marketplaces": [
                        (m, ticks is None or m.marketplace_id in ticks) for m in marketplaces
                    ],
                }
            )
        return groups

    def split_preview(self) -> SplitPreview | None:
        """How the range will be sent (split by `split_range`), or why it cannot be."""
        self.is_valid()
        for name in ("account", "kind", "start", "end"):
            if name in self.errors:
                return SplitPreview(self.errors[name][0], ok=False)
        kind = BY_KEY[self.cleaned_data["kind"]]
        if kind.ignores_range:
            return SplitPreview(
                gettext(
                    "Amazon makes this report as a snapshot of the current data: the range is "
                    "ignored and one request is sent."
                ),
                ok=True,
            )
        parts = split_range(kind, self.cleaned_data["start"], self.cleaned_data["end"])
        if len(parts) == 1:
            return SplitPreview(gettext("One request covers this range."), ok=True)
        return SplitPreview(
            gettext(
                "This range is longer than one request may cover (%(days)d days): it will be "
                "sent as %(parts)d consecutive requests."
            )
            % {"days": kind.max_range.days, "parts": len(parts)},
            ok=True,
        )
