"""`{{ record|choice_label:"field" }}` (core/templatetags/choices.py) prints what
`record.get_field_display` prints: for every choice of every choice field of the product's
models, a value outside the choices, and in each language."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.template import engines
from django.utils import translation

from core.templatetags.choices import choice_label

FIELDS = [
    (model, field)
    for model in apps.get_models()
    if model.__module__.split(".")[0] in {"core", "amazon_settings", "orders", "reports", "api"}
    for field in model._meta.concrete_fields
    if field.choices
]


def test_there_are_fields_to_check():
    names = {(m.__name__, f.name) for m, f in FIELDS}
    assert {("Order", "status"), ("Report", "import_status"), ("Invoice", "kind")} <= names


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize(("model", "field"), FIELDS, ids=lambda x: getattr(x, "name", None))
def test_prints_what_get_display_prints(model, field, language):
    values = [value for value, _ in field.flatchoices] + ["not-a-choice"]
    with translation.override(language):
        for value in values:
            record = model(**{field.attname: value})
            expected = getattr(record, f"get_{field.name}_display")()
            assert choice_label(record, field.name) == expected


def test_translated_when_printed():
    from orders.models import Order

    template = engines["django"].from_string('{% load choices %}{{ o|choice_label:"status" }}')
    order = Order(status=Order.Status.CANCELED)
    with translation.override("de"):
        german = template.render({"o": order})
    with translation.override("en"):
        english = template.render({"o": order})
    assert english == "Canceled"
    assert german != english
