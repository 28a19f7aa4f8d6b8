"""The profile page: the user's e-mail address and which notifications they receive."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout, Submit
from django import forms
from django.utils.translation import gettext_lazy as _

from reports.models import EmailCondition


class NotificationProfileForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        required=False,
        max_length=254,
        help_text=_("Notifications go here. Without an address you receive none."),
    )
    conditions = forms.MultipleChoiceField(
        label=_("E-mail me when"),
        choices=EmailCondition.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_method = "post"
        self.helper.layout = Layout(
            Fieldset(_("E-mail notifications"), "email", "conditions"),
            Submit("save", _("Save"), css_class="btn-primary"),
        )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip()
