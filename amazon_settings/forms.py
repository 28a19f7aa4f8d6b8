from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any

from crispy_forms.bootstrap import InlineCheckboxes
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Field, Hidden, Layout
from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from amazon_settings.models import (
    INVOICING_DATA_FIELDS,
    AccountMarketplace,
    ApiCall,
    InvoicingMode,
    Region,
    SellerAccount,
)
from amazon_settings.vat_ids import normalize_vat_id
from core.forms import BoundedDateField, BoundedDateTimeField, filter_bar, submit_button

SELLING_PARTNER_ID = re.compile(r"^[A-Z0-9]{8,20}$")


class ConnectStartForm(forms.Form):
    """The region to connect an account of (the button that starts Amazon's consent)."""

    region = forms.ChoiceField(label=_("Region"), choices=Region.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One line beside the page's title (static/css/app.css: .inline-form).
        self.helper = FormHelper()
        self.helper.form_id = "connect-form"
        self.helper.form_action = "amazon_settings:connect_start"
        self.helper.form_class = "d-flex gap-2 align-items-center inline-form"
        self.helper.label_class = "col-form-label text-nowrap"
        self.helper.form_show_errors = False
        self.helper.layout = Layout(
            Field("region", wrapper_class="d-flex gap-2 align-items-center"),
            submit_button(
                format_lazy('<i class="bi bi-plug"></i> {}', _("Connect Amazon account")),
                css_class="btn-primary text-nowrap",
            ),
        )


class ConsentCallbackForm(forms.Form):
    """The query string Amazon's consent page sends back to the redirect URI."""

    state = forms.CharField(max_length=200)
    selling_partner_id = forms.RegexField(regex=SELLING_PARTNER_ID, max_length=20)
    spapi_oauth_code = forms.CharField(max_length=2048)


class SelfAuthorizationForm(forms.Form):
    selling_partner_id = forms.RegexField(
        regex=SELLING_PARTNER_ID,
        max_length=20,
        label=_("Selling partner ID (Merchant token)"),
        help_text=_(
            "Seller Central » Settings » Account Info » Merchant Token, e.g. A3TH9S8BH6GOGM."
        ),
        error_messages={
            "invalid": _("Enter the merchant token: 8 to 20 capital letters and digits.")
        },
    )
    region = forms.ChoiceField(label=_("Region"), choices=Region.choices)
    display_name = forms.CharField(label=_("Display name"), max_length=100, required=False)
    refresh_token = forms.CharField(
        max_length=2048,
        label=_("Refresh token"),
        widget=forms.PasswordInput(render_value=False),
        help_text=_(
            "Seller Central » Develop Apps » your app » Authorize app. "
            "It is saved only after Amazon accepted a test call with it."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_id = "self-authorization-form"
        self.helper.form_action = "amazon_settings:self_authorize"
        self.helper.attrs = {"novalidate": ""}
        self.helper.layout = Layout(
            "selling_partner_id",
            "region",
            "display_name",
            "refresh_token",
            submit_button(_("Test and save")),
        )

    def clean_refresh_token(self) -> str:
        token = self.cleaned_data["refresh_token"].strip()
        if not token.startswith("Atzr|"):
            raise forms.ValidationError(
                _("This is not a refresh token: Amazon's refresh tokens start with Atzr|.")
            )
        return token


class OrderImportForm(forms.Form):
    active = forms.BooleanField(required=False)


class PushSwitchForm(forms.Form):
    active = forms.BooleanField(required=False)


class MarketplaceSelectionForm(forms.Form):
    """Settings: which of an account's marketplaces are imported. One per account on the page:
    `account`'s pk goes into the ids, so that they stay unique."""

    marketplace_ids = forms.MultipleChoiceField(
        label=_("Marketplaces (imported when ticked)"),
        required=False,
        choices=(),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self,
        *args: Any,
        account: SellerAccount,
        choices: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        marketplaces = list(account.marketplaces.all())
        kwargs.setdefault("auto_id", f"id_%s_{account.pk}")
        kwargs.setdefault(
            "initial",
            {"marketplace_ids": [m.marketplace_id for m in marketplaces if m.selected]},
        )
        super().__init__(*args, **kwargs)
        self.fields["marketplace_ids"].choices = (
            choices
            if choices is not None
            else [(m.marketplace_id, f"{m.name} ({m.country_code})") for m in marketplaces]
        )
        self.helper = FormHelper()
        self.helper.form_id = f"marketplace-form-{account.pk}"
        self.helper.form_action = reverse("amazon_settings:marketplaces", args=[account.pk])
        self.helper.form_class = "marketplaces"
        self.helper.label_class = "small text-body-secondary"
        self.helper.layout = Layout(
            InlineCheckboxes("marketplace_ids"),
            submit_button(_("Save marketplaces"), css_class="btn-sm btn-outline-primary"),
        )


class ImportStartForm(forms.Form):
    """Since when the account's orders are imported (a local calendar day): on Settings, once
    per account, and on "Orders missing?". Shown filled with `SellerAccount.import_start`, the
    date every page uses."""

    import_orders_from = BoundedDateField(
        label=_("Import orders from"),
        widget=forms.DateInput(
            format="%Y-%m-%d", attrs={"type": "date", "class": "form-control form-control-sm"}
        ),
    )

    def __init__(
        self,
        *args: Any,
        account: SellerAccount | None = None,
        action: str = "",
        form_id: str = "import-start-form",
        **kwargs: Any,
    ) -> None:
        if account is not None:
            kwargs.setdefault(
                "initial", {"import_orders_from": timezone.localdate(account.import_start)}
            )
        super().__init__(*args, **kwargs)
        # One line: the label beside the field (static/css/app.css).
        self.helper = FormHelper()
        self.helper.form_id = form_id
        self.helper.form_action = action
        self.helper.form_class = "d-flex gap-2 align-items-center inline-form"
        self.helper.label_class = "col-form-label-sm text-nowrap"
        self.helper.layout = Layout(
            Field("import_orders_from", wrapper_class="d-flex gap-2 align-items-center"),
            submit_button(_("Save"), css_class="btn-sm btn-outline-primary"),
        )

    def clean_import_orders_from(self) -> date:
        day = self.cleaned_data["import_orders_from"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("The date cannot be in the future."))
        return day

    def start(self) -> datetime:
        return timezone.make_aware(
            datetime.combine(self.cleaned_data["import_orders_from"], time())
        )


class MarketplaceInvoicingForm(forms.ModelForm):
    """Who issues a marketplace's invoices, and the seller's legal data for those issued here.

    The legal data is required in VCS Lite mode only; entered in another mode, it is kept for
    when the mode changes.
    """

    REQUIRED_MESSAGE = _("Required in VCS Lite mode: every invoice issued here prints it.")

    class Meta:
        model = AccountMarketplace
        fields = ["invoicing_mode", *(name for name, _label in INVOICING_DATA_FIELDS)]
        widgets = {"invoicing_mode": forms.RadioSelect}
        labels = {"invoicing_mode": _("Who issues the invoices")}
        help_texts = {
            "seller_legal_name": _("As registered, e.g. Müller Haushaltswaren GmbH."),
            "seller_vat_id": _(
                "The VAT ID your invoices for this marketplace name, e.g. DE123456789."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One form per marketplace on the page; `marketplace` says which one was posted. Only
        # those who may operate get the button (the page's `can_operate`).
        self.helper = FormHelper()
        self.helper.form_id = f"invoicing-form-{self.instance.pk}"
        self.helper.form_class = "invoicing-form"
        self.helper.attrs = {"novalidate": ""}
        self.helper.layout = Layout(
            Hidden("marketplace", self.instance.pk),
            *self.fields,
            # In a template file, where makemessages finds its text.
            HTML('{% include "amazon_settings/_invoicing_submit.html" %}'),
        )

    def clean_seller_vat_id(self) -> str:
        return normalize_vat_id(self.cleaned_data["seller_vat_id"])

    def clean(self) -> dict:
        data = super().clean()
        if data.get("invoicing_mode") == InvoicingMode.VCS_LITE:
            for name, _label in INVOICING_DATA_FIELDS:
                if name not in self.errors and not str(data.get(name) or "").strip():
                    self.add_error(name, self.REQUIRED_MESSAGE)
        return data


class ApiCallFilterForm(forms.Form):
    """Data exchange » Log: account, operation (those the log holds), outcome and time range."""

    account = forms.TypedChoiceField(
        label=_("Account"), required=False, coerce=int, empty_value=None, choices=()
    )
    operation = forms.CharField(label=_("Operation"), required=False, max_length=80)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False, choices=())
    since = BoundedDateTimeField(
        label=_("From"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    until = BoundedDateTimeField(
        label=_("Until"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args: Any, operations: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A free text field underneath: an operation no longer logged still filters.
        self.fields["operation"].widget = forms.Select(
            choices=[("", _("All operations")), *((op, op) for op in operations)]
        )
        self.fields["account"].choices = [("", _("All accounts"))] + [
            (account.pk, str(account)) for account in SellerAccount.objects.all()
        ]
        self.fields["outcome"].choices = [
            ("", _("All outcomes")),
            ("errors", _("Errors only")),
            *ApiCall.Outcome.choices,
        ]
        self.helper = filter_bar(
            small=False,
            form_id="log-filters",
            columns=[
                ("account", "col-md-3"),
                ("operation", "col-md-2"),
                ("outcome", "col-md-2"),
                ("since", "col-md-2"),
                ("until", "col-md-2"),
            ],
        )
