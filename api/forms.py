from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils.translation import gettext_lazy as _

from amazon_settings.models import SellerAccount
from api.models import ApiToken, Scope


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
