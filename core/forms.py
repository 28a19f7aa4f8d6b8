"""Form fields every app's forms share."""

from __future__ import annotations

from datetime import date, datetime

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

# Years Amazon data can have. Bounds every date a form takes: far-off dates (year 1 in local
# time is before year 1 in UTC; the day after 9999-12-31 does not exist) would otherwise
# overflow in the query built from them and answer 500.
FIRST_YEAR, LAST_YEAR = 2000, 2100
OUT_OF_RANGE = _("Enter a date between the years %(first)s and %(last)s.")


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
