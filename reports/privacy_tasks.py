"""django-q2 task of the data-protection pass: a one-line wrapper around reports.privacy."""

from __future__ import annotations

from django.conf import settings

from reports import privacy


def remove_personal_data() -> privacy.PersonalDataRemoval:
    return privacy.remove_personal_data(older_than_days=settings.PII_RETENTION_DAYS)
