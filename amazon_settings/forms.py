from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Field, Layout
from django import forms
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
from core.forms import BoundedDateTimeField, filter_bar, submit_button

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
    marketplace_ids = forms.MultipleChoiceField(required=False, choices=())

    def __init__(self, *args: object, choices: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["marketplace_ids"].choices = choices


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
