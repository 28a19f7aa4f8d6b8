"""VAT identification numbers of the seller, as its invoices print them: checked for form only.

A VAT ID is the two-letter prefix of the member state that issued it (Greece: EL, Northern
Ireland: XI) followed by that state's own format, as the European Commission's VIES pages list
them; the UK's numbers follow its own. Whether a number is registered is VIES's answer and is
not asked here: this catches typos and pasted labels ("USt-IdNr.: DE…") before a number goes
onto invoices.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

_UK = (r"\d{9}|\d{12}|GD\d{3}|HA\d{3}", _("9 or 12 digits"))
# After the prefix: the pattern and how the error message describes it.
FORMATS: dict[str, tuple[str, Promise]] = {
    "AT": (r"U\d{8}", _("U and 8 digits")),
    "BE": (r"[01]\d{9}", _("10 digits starting with 0 or 1")),
    "BG": (r"\d{9,10}", _("9 or 10 digits")),
    "CY": (r"\d{8}[A-Z]", _("8 digits and a letter")),
    "CZ": (r"\d{8,10}", _("8 to 10 digits")),
    "DE": (r"\d{9}", _("9 digits")),
    "DK": (r"\d{8}", _("8 digits")),
    "EE": (r"\d{9}", _("9 digits")),
    "EL": (r"\d{9}", _("9 digits")),
    "ES": (r"[A-Z0-9]\d{7}[A-Z0-9]", _("9 characters: digits, with a letter first or last")),
    "FI": (r"\d{8}", _("8 digits")),
    "FR": (r"[A-HJ-NP-Z0-9]{2}\d{9}", _("2 characters and 9 digits")),
    "HR": (r"\d{11}", _("11 digits")),
    "HU": (r"\d{8}", _("8 digits")),
    "IE": (r"\d[A-Z0-9+*]\d{5}[A-Z]{1,2}", _("8 or 9 characters, digits and letters")),
    "IT": (r"\d{11}", _("11 digits")),
    "LT": (r"\d{9}|\d{12}", _("9 or 12 digits")),
    "LU": (r"\d{8}", _("8 digits")),
    "LV": (r"\d{11}", _("11 digits")),
    "MT": (r"\d{8}", _("8 digits")),
    "NL": (r"\d{9}B\d{2}", _("9 digits, B and 2 digits")),
    "PL": (r"\d{10}", _("10 digits")),
    "PT": (r"\d{9}", _("9 digits")),
    "RO": (r"\d{2,10}", _("2 to 10 digits")),
    "SE": (r"\d{12}", _("12 digits")),
    "SI": (r"\d{8}", _("8 digits")),
    "SK": (r"\d{10}", _("10 digits")),
    "GB": _UK,
    "XI": _UK,
}
_COMPILED = {prefix: re.compile(f"(?:{pattern})") for prefix, (pattern, _) in FORMATS.items()}
# What people type or paste around the number.
_SEPARATORS = re.compile(r"[\s.\-]")

UNKNOWN_PREFIX = _(
    "A VAT ID starts with the two-letter code of the country that issued it (EL for Greece, "
    "XI for Northern Ireland), e.g. DE123456789."
)


def normalize_vat_id(value: str) -> str:
    """The VAT ID as invoices print it: capitals, without spaces, dots or dashes."""
    return _SEPARATORS.sub("", value).upper()


def validate_vat_id(value: str) -> None:
    """Raise ValidationError unless `value` (normalized) has the form of an EU or UK VAT ID."""
    prefix, rest = value[:2], value[2:]
    pattern = _COMPILED.get(prefix)
    if pattern is None:
        raise ValidationError(UNKNOWN_PREFIX, code="vat_prefix")
    if not pattern.fullmatch(rest):
        raise ValidationError(
            gettext(
                "A VAT ID from %(prefix)s is %(prefix)s followed by %(format)s: check the "
                "characters after %(prefix)s."
            )
            % {"prefix": prefix, "format": FORMATS[prefix][1]},
            code="vat_format",
        )
