"""Form fields every app's forms share, and the forms of the administration pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from crispy_forms.bootstrap import StrictButton
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Layout, LayoutObject, Row, Submit
from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.roles import AUDITED_OBJECT_TYPES, Role, object_type_label
from core.selectors import email_taken

# Years Amazon data can have. Bounds every date a form takes: far-off dates (year 1 in local
# time is before year 1 in UTC; the day after 9999-12-31 does not exist) would otherwise
# overflow in the query built from them and answer 500.
FIRST_YEAR, LAST_YEAR = 2000, 2100
OUT_OF_RANGE = _("Enter a date between the years %(first)s and %(last)s.")


def submit_button(label: Any, *, css_class: str = "btn-primary", **attrs: Any) -> StrictButton:
    """A `<button type="submit">` (crispy's `Submit` is an `<input>`, which neither holds an
    icon nor answers the pages' `button[type=submit]` selectors)."""
    return StrictButton(label, type="submit", css_class=css_class, **attrs)


def button_column(button: StrictButton, *, css_class: str) -> Column:
    """A column for a row of labelled fields that holds `button`, level with their inputs: an
    empty line of a label's height above it (on wide screens, where the columns stand side by
    side), so that an error or help text under a field leaves the row in line."""
    return Column(
        HTML('<div class="form-label small d-none d-md-block" aria-hidden="true">&nbsp;</div>'),
        button,
        css_class=f"{css_class} mb-3",
    )


def filter_bar(
    *,
    form_id: str,
    columns: Sequence[tuple[str | LayoutObject, str]],
    button_label: Any = None,
    button_class: str = "col-md-1",
    breakpoint: str = "md",
    small: bool = True,
    after: Sequence[LayoutObject] = (),
) -> FormHelper:
    """The helper of a page's GET filter bar: one row of small labelled fields, each in its
    column (`(field name, column classes)`), the submit button last ("Filter" unless
    `button_label`), then `after` (a notice below the row, for instance). Each field's error is
    shown under it."""
    helper = FormHelper()
    helper.form_method = "get"
    helper.form_id = form_id
    helper.label_class = "small"
    helper.layout = Layout(
        Row(
            *(Column(name, css_class=css) for name, css in columns),
            button_column(
                submit_button(button_label or _("Filter"), css_class="btn-primary btn-sm w-100"),
                css_class=button_class,
            ),
            *after,
            css_class="g-2",
        )
    )
    return helper


def _in_range(value: date | datetime | None) -> date | datetime | None:
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise forms.ValidationError(
            OUT_OF_RANGE, code="out_of_range", params={"first": FIRST_YEAR, "last": LAST_YEAR}
        )
    return value


class BoundedDateField(forms.DateField):
    """A date within the years Amazon data can have."""

    def clean(self, value: object) -> date | None:
        return _in_range(super().clean(value))


class BoundedDateTimeField(forms.DateTimeField):
    """A date and time within the years Amazon data can have."""

    def clean(self, value: object) -> datetime | None:
        return _in_range(super().clean(value))


class LoginForm(AuthenticationForm):
    """The login page's form: Django's, laid out by crispy (the `next` page it returns to, kept
    from the query string, rides along). A refused login learns one sentence, shown above the
    fields by crispy."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Your username and password did not match. Please try again."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_id = "login-form"
        self.helper.form_action = "login"
        self.helper.attrs = {"novalidate": ""}
        self.helper.layout = Layout(
            "username",
            "password",
            HTML('<input type="hidden" name="next" value="{{ next }}">'),
            submit_button(_("Log in"), css_class="btn-primary w-100"),
        )


class InviteForm(forms.Form):
    """Invite a user: their e-mail address (also their username), name, role and buyer data."""

    email = forms.EmailField(label=_("E-mail address"), max_length=150)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    role = forms.ChoiceField(
        label=_("Role"),
        choices=Role.choices,
        initial=Role.VIEWER,
        widget=forms.RadioSelect,
        help_text=_(
            "Viewers look at every page; Operators also connect accounts, request and manage "
            "reports and change settings; Administrators also manage users and read the audit log."
        ),
    )
    buyer_data = forms.BooleanField(
        label=_("Buyer data: may see buyers' names, addresses, e-mails and raw reports"),
        required=False,
        help_text=_("Operators and administrators see them anyway."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_id = "invite-form"
        self.helper.attrs = {"novalidate": ""}
        self.helper.layout = Layout(
            "email",
            Row(
                Column("first_name", css_class="col-md-6"),
                Column("last_name", css_class="col-md-6"),
            ),
            "role",
            "buyer_data",
            Submit("invite", _("Send invitation")),
        )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if email_taken(email):
            raise forms.ValidationError(
                _("A user with this e-mail address exists already."), code="duplicate"
            )
        return email


class RoleForm(forms.Form):
    """A user's role and whether they see buyer data."""

    role = InviteForm.base_fields["role"]
    buyer_data = InviteForm.base_fields["buyer_data"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_id = "role-form"
        self.helper.layout = Layout("role", "buyer_data", Submit("save", _("Save role")))


class AuditFilterForm(forms.Form):
    """The audit log's filters: user, action, object and a date range (days in the current
    time zone, both included)."""

    user = forms.CharField(
        label=_("User"), required=False, max_length=150, help_text=_("The whole username.")
    )
    action = forms.CharField(
        label=_("Action"),
        required=False,
        max_length=100,
        help_text=_("Its start is enough: “reports:” finds every report action."),
    )
    object_type = forms.ChoiceField(label=_("Object"), required=False, choices=())
    object_id = forms.CharField(label=_("Object ID"), required=False, max_length=100)
    since = BoundedDateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = BoundedDateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = [("", _("Any object"))] + [
            (kind, object_type_label(kind)) for kind in AUDITED_OBJECT_TYPES
        ]
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.form_id = "audit-filters"
        self.helper.layout = Layout(
            Row(
                Column("user", css_class="col-md-2"),
                Column("action", css_class="col-md-2"),
                Column("object_type", css_class="col-md-2"),
                Column("object_id", css_class="col-md-1"),
                # Wide enough for the browser's date box (dd.mm.yyyy and its picker).
                Column("since", css_class="col-md-2"),
                Column("until", css_class="col-md-2"),
                Column(
                    Submit("filter", _("Filter"), css_class="btn-sm mt-md-4"),
                    css_class="col-md-1",
                ),
                css_class="align-items-start",
            )
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError(
                _("The first day comes after the last: swap them."), code="reversed"
            )
        return data

    def selector_filters(self) -> dict[str, Any]:
        """Keyword arguments for `core.selectors.audit_events`; none while the form is invalid."""
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "username": data["user"],
            "action": data["action"],
            "object_type": data["object_type"],
            "object_id": data["object_id"],
            "since": _start_of_day(data["since"]),
            "until": _start_of_day(data["until"] + timedelta(days=1)) if data["until"] else None,
        }


def _start_of_day(day: date | None) -> datetime | None:
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.min))


class SetPasswordCrispyForm(SetPasswordForm):
    """Django's set-password form (the password validators included), laid out by crispy."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_id = "set-password-form"
        self.helper.layout = Layout(
            "new_password1", "new_password2", Submit("set", _("Set password"), css_class="w-100")
        )


class LanguageForm(forms.Form):
    """The language switch in the navigation: a language, or "" for the browser's."""

    language = forms.ChoiceField(required=False, choices=[])
    next = forms.CharField(required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [
            ("", _("As the browser says")),
            *settings.LANGUAGES,
        ]
