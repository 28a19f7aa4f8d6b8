"""`{% source_link record %}` prints what the included template `orders/_source.html` printed
(which it replaced on the Orders, Returns and order pages), in both languages."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.template import engines
from django.utils import translation

# orders/_source.html as it was, without its file's closing newline.
FORMER_TEMPLATE = (
    '{% load i18n record_urls %}{% if record.source_report_id %}<a class="source-link small'
    ' text-nowrap" href="{{ record.source_report_id|record_url:"reports:detail" }}"'
    " title=\"{% translate 'The report and line that last wrote this' %}\">"
    "{% if record.source_line %}{% blocktranslate with report=record.source_report_id"
    " line=record.source_line %}Report {{ report }}, line {{ line }}{% endblocktranslate %}"
    "{% else %}{% blocktranslate with report=record.source_report_id %}Report {{ report }}"
    '{% endblocktranslate %}{% endif %}</a>{% else %}<span class="text-body-secondary small">'
    "—</span>{% endif %}"
)
RECORDS = [
    SimpleNamespace(source_report_id=7, source_line=2),
    SimpleNamespace(source_report_id=123456, source_line=1234567),
    SimpleNamespace(source_report_id=42, source_line=None),
    SimpleNamespace(source_report_id=42, source_line=0),
    SimpleNamespace(source_report_id=None, source_line=None),
    SimpleNamespace(),  # a record without a source at all
]


@pytest.mark.parametrize("grouping", [False, True])
@pytest.mark.parametrize("language", ["en", "de"])
def test_prints_what_the_included_template_printed(language, grouping, settings):
    settings.USE_THOUSAND_SEPARATOR = grouping
    django_engine = engines["django"]
    former = django_engine.from_string(FORMER_TEMPLATE)
    tag = django_engine.from_string("{% load record_sources %}{% source_link record %}")
    with translation.override(language):
        for record in RECORDS:
            assert tag.render({"record": record}) == former.render({"record": record})
    with translation.override("de"):
        assert "Bericht 7, Zeile 2" in tag.render({"record": RECORDS[0]})
