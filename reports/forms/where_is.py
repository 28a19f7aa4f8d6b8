"""Where is order X?: the question, and the gap it offers to request."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amazon_settings.models import SellerAccount
from core.forms import BoundedDateField, filter_bar
from orders.importers.cells import AMAZON_ORDER_ID
from reports.catalog import BY_KEY


class WhereIsForm(forms.Form):
    """The order ID, and the purchase date if the seller knows it (Seller Central shows it)."""

    order_id = forms.RegexField(
        label=_("Amazon order ID"),
        regex=AMAZON_ORDER_ID,
        strip=True,
        error_messages={"invalid": _("An Amazon order ID looks like 123-1234567-1234567.")},
        widget=forms.TextInput(
            attrs={"class": "form-control", "placeholder": "123-1234567-1234567"}
        ),
    )
    date = BoundedDateField(
        label=_("Purchase date (if known)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
    )
    account = forms.ModelChoiceField(
        label=_("Account"),
        queryset=SellerAccount.objects.order_by("display_name"),
        required=False,
        empty_label=_("All accounts"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = filter_bar(
            small=False,
            form_id="where-is-form",
            columns=[("order_id", "col-md-3"), ("date", "col-md-2"), ("account", "col-md-3")],
            button_label=_("Look for it"),
            button_class="col-md-2",
        )


class GapRequestForm(forms.Form):
    """The range of one coverage gap, to request for one account and report kind."""

    order_id = forms.RegexField(regex=AMAZON_ORDER_ID, required=False)
    date = BoundedDateField(required=False)
    account = forms.ModelChoiceField(queryset=SellerAccount.objects.all())
    kind = forms.ChoiceField(choices=[(key, kind.name) for key, kind in BY_KEY.items()])
    start = forms.DateTimeField()
    end = forms.DateTimeField()
