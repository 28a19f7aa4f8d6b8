"""`{{ pk|record_url:"name" }}` (core/templatetags/record_urls.py) prints what
`{% url "name" pk %}` prints, also under a script prefix (the site served below a path)."""

from __future__ import annotations

import pytest
from django.template import engines
from django.urls import set_script_prefix

NAMES = ["orders:detail", "reports:detail", "orders:invoice_print"]
URL_TAG = engines["django"].from_string("{% url name pk %}")
FILTER = engines["django"].from_string("{% load record_urls %}{{ pk|record_url:name }}")


@pytest.fixture
def script_prefix():
    yield set_script_prefix
    set_script_prefix("/")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("pk", [1, 7, 42, 1_000_000, 2**40])
@pytest.mark.parametrize("prefix", ["/", "/dashboard/"])
def test_prints_what_the_url_tag_prints(script_prefix, name, pk, prefix):
    script_prefix(prefix)
    expected = URL_TAG.render({"name": name, "pk": pk})
    assert expected.startswith(prefix)
    assert FILTER.render({"name": name, "pk": pk}) == expected
