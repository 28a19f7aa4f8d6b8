"""The GET filters of the orders pages: each form validates the query string and turns it into
keyword arguments for one selector."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Layout
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from amazon_settings.models import AccountMarketplace, SellerAccount
from core.forms import FIRST_YEAR, LAST_YEAR, BoundedDateField, filter_bar, submit_button
from orders.importers.cells import AMAZON_ORDER_ID
from orders.models import Invoice, Order
from orders.selectors import searches_inside


def _select(**kwargs: Any) -> forms.Select:
    return forms.Select(attrs={"class": "form-select form-select-sm", **kwargs})


def _date_field(label: Any) -> forms.DateField:
    return BoundedDateField(
        label=label,
        required=False,
        widget=forms.DateInput(
            attrs={
                "type": "date",
                "class": "form-control form-control-sm",
                "min": f"{FIRST_YEAR}-01-01",
                "max": f"{LAST_YEAR}-12-31",
            }
        ),
    )


def _account_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=SellerAccount.objects.order_by("display_name"),
        label=_("Account"),
        required=False,
        empty_label=_("All accounts"),
        widget=_select(),
    )


def _search_field(placeholder: Any) -> forms.CharField:
    return forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "class": "form-control form-control-sm",
                "placeholder": placeholder,
                "type": "search",
            }
        ),
    )


def start_of_day(day: Any) -> datetime | None:
    """The first moment of `day` in the current time zone (aware), or None."""
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.min))


class OrderFilterForm(forms.Form):
    """Orders: account, marketplace, channel, status, purchase date range and a search."""

    q = _search_field(_("Order ID, SKU, buyer name or e-mail"))
    account = _account_field()
    marketplace = forms.ChoiceField(
        label=_("Marketplace"), required=False, choices=(), widget=_select()
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        required=False,
        choices=[("", _("All channels")), ("MFN", "MFN"), ("AFN", "AFN (FBA)")],
        widget=_select(),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *[c for c in Order.Status.choices if c[0]]],
        widget=_select(),
    )
    since = _date_field(_("Purchased from"))
    until = _date_field(_("Purchased until"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = dict(
            AccountMarketplace.objects.order_by("name").values_list("marketplace_id", "name")
        )
        self.fields["marketplace"].choices = [("", _("All marketplaces")), *sorted(names.items())]
        self.helper = filter_bar(
            form_id="order-filters",
            columns=[
                ("q", "col-md-3"),
                ("account", "col-md-2"),
                ("marketplace", "col-md-2"),
                ("channel", "col-md-1"),
                ("status", "col-md-1"),
                ("since", "col-md-1"),
                ("until", "col-md-1"),
            ],
            after=[HTML('{% include "orders/_search_notice.html" %}')],
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end date must not be before the start date."))
        return data

    def selector_filters(self) -> dict[str, Any]:
        """Keyword arguments for `selectors.order_list`; empty when the filters are invalid.

        "Until" is a whole day: orders of that day are included.
        """
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        until = start_of_day(data["until"])
        return {
            "account": data["account"],
            "marketplace_id": data["marketplace"],
            "channel": data["channel"],
            "status": data["status"],
            "since": start_of_day(data["since"]),
            "until": until + timedelta(days=1) if until else None,
            "search": data["q"],
        }

    @property
    def search_notice(self) -> str:
        """What the page says when the term is matched against whole values only, else ""."""
        if not self.is_bound or not self.is_valid():
            return ""
        term = self.cleaned_data["q"]
        if not term or AMAZON_ORDER_ID.match(term) or searches_inside(term):
            return ""
        # Looked for inside values, a shorter term would read every order and item
        # (orders/selectors.py); a whole SKU such as "AB-1" is still found.
        return str(
            _(
                "Matched against whole order IDs, SKUs and e-mail addresses only: to search"
                " inside them, enter at least 3 letters or digits in a row."
            )
        )

    @property
    def searched_order_id(self) -> str:
        """The search term when it is an Amazon order ID (`123-1234567-1234567`), else ""."""
        if not self.is_bound or not self.is_valid():
            return ""
        term = self.cleaned_data["q"]
        return term if AMAZON_ORDER_ID.match(term) else ""


class ReturnFilterForm(forms.Form):
    """Returns: account, return date range, and a search on order ID, SKU or ASIN."""

    q = _search_field(_("Order ID, SKU or ASIN"))
    account = _account_field()
    since = _date_field(_("Returned from"))
    until = _date_field(_("Returned until"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = filter_bar(
            form_id="return-filters",
            columns=[
                ("q", "col-md-4"),
                ("account", "col-md-3"),
                ("since", "col-md-2"),
                ("until", "col-md-2"),
            ],
        )

    def selector_filters(self) -> dict[str, Any]:
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        until = start_of_day(data["until"])
        return {
            "account": data["account"],
            "since": start_of_day(data["since"]),
            "until": until + timedelta(days=1) if until else None,
            "search": data["q"],
        }


class StockFilterForm(forms.Form):
    """Stock: account and a search on SKU, FNSKU or ASIN."""

    q = _search_field(_("SKU, FNSKU or ASIN"))
    account = _account_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = filter_bar(
            form_id="stock-filters", columns=[("q", "col-md-4"), ("account", "col-md-3")]
        )

    def selector_filters(self) -> dict[str, Any]:
        if not self.is_bound or not self.is_valid():
            return {}
        return {"account": self.cleaned_data["account"], "search": self.cleaned_data["q"]}


class InvoiceFilterForm(forms.Form):
    """Invoices: account, kind, source, issue date range, and a search on number or order ID."""

    q = _search_field(_("Number or order ID"))
    account = _account_field()
    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[("", _("Invoices and credit notes")), *Invoice.Kind.choices],
        widget=_select(),
    )
    source = forms.ChoiceField(
        label=_("Source"),
        required=False,
        choices=[("", _("All sources")), *Invoice.Source.choices],
        widget=_select(),
    )
    since = _date_field(_("Issued from"))
    until = _date_field(_("Issued until"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = filter_bar(
            form_id="invoice-filters",
            columns=[
                ("q", "col-md-3"),
                ("account", "col-md-2"),
                ("kind", "col-md-2"),
                ("source", "col-md-2"),
                ("since", "col-md-1"),
                ("until", "col-md-1"),
            ],
        )

    def selector_filters(self) -> dict[str, Any]:
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "account": data["account"],
            "kind": data["kind"],
            "source": data["source"],
            "issued_from": data["since"],
            "issued_until": data["until"],
            "search": data["q"],
        }


class WhereIsOrderForm(forms.Form):
    """The Orders page's question when a searched order ID is not imported: its purchase date,
    if the seller knows it, for "Where is order X?" (a GET to that page of the reports app)."""

    order_id = forms.CharField(widget=forms.HiddenInput)
    date = BoundedDateField(
        label=_("Purchase date, if you know it (Seller Central shows it)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}),
    )

    def __init__(self, *args: Any, order_id: str, **kwargs: Any) -> None:
        super().__init__(*args, initial={"order_id": order_id}, **kwargs)
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.form_id = "where-is-order-form"
        self.helper.form_action = "reports:where_is"
        self.helper.form_class = "row g-2 align-items-end"
        self.helper.label_class = "small"
        self.helper.layout = Layout(
            "order_id",
            Column("date", css_class="col-auto"),
            Column(
                submit_button(
                    _("Where is order %(order_id)s?") % {"order_id": order_id},
                    css_class="btn-warning btn-sm mb-3",
                ),
                css_class="col-auto",
            ),
        )
