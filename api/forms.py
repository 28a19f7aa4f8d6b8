from __future__ import annotations

from urllib.parse import urlsplit

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils.translation import gettext_lazy as _

from amazon_settings.models import SellerAccount
from api.models import ApiToken, Scope, WebhookEvent, WebhookSubscription


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=ApiToken._meta.get_field("name").max_length,
        label=_("Name"),
        help_text=_("Which integration uses it, e.g. “ERP” or “Shipping tool”."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple, required=True
    )
    accounts = forms.ModelMultipleChoiceField(
        label=_("Accounts"),
        queryset=SellerAccount.objects.order_by("display_name"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("None ticked: every seller account, also those connected later."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("create", _("Create token")))

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if ApiToken.objects.filter(name=name).exists():
            raise forms.ValidationError(_("A token with this name exists: choose another name."))
        return name


class WebhookForm(forms.Form):
    """A new webhook subscription, or the changes to one (`instance` given: the name stays)."""

    name = forms.CharField(
        label=_("Name"),
        max_length=WebhookSubscription._meta.get_field("name").max_length,
        help_text=_("Which receiver it is, e.g. “ERP” or “Shipping tool”."),
    )
    url = forms.URLField(
        label=_("URL"),
        max_length=WebhookSubscription._meta.get_field("url").max_length,
        assume_scheme="https",
        help_text=_("Where each event is POSTed. It must answer 2xx; redirects are not followed."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        required=True,
    )
    include_buyer_data = forms.BooleanField(
        label=_("Include buyers' personal data"),
        required=False,
        help_text=_(
            "Names, addresses and comments of buyers, within the retention only. Leave it off "
            "unless the receiver needs them."
        ),
    )

    def __init__(self, *args, instance: WebhookSubscription | None = None, **kwargs) -> None:
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": instance.name,
                    "url": instance.url,
                    "events": instance.events,
                    "include_buyer_data": instance.include_buyer_data,
                },
            )
        super().__init__(*args, **kwargs)
        self.instance = instance
        self.helper = FormHelper()
        if instance is not None:
            self.fields["name"].disabled = True
            self.helper.add_input(Submit("save", _("Save changes")))
        else:
            self.helper.add_input(Submit("create", _("Subscribe")))

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if urlsplit(url).scheme not in ("http", "https"):
            raise forms.ValidationError(_("Only http and https URLs can receive webhooks."))
        return url

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if self.instance is None and WebhookSubscription.objects.filter(name=name).exists():
            raise forms.ValidationError(_("A webhook with this name exists: choose another name."))
        return name
