"""`{% filter_bar form %}` (core/templatetags/filter_bars.py) keeps a list page's rendered GET
filter bar: it must print what `{% crispy form %}` prints for the same form, and never an
earlier rendering when what the bar shows has changed (its values, its choices, the language,
the time zone, an error)."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.template import engines
from django.utils import timezone, translation

from amazon_settings.crypto import encrypt_secret
from amazon_settings.forms import ApiCallFilterForm
from amazon_settings.models import AccountMarketplace, SellerAccount
from core.templatetags.filter_bars import forget_rendered
from orders.forms import InvoiceFilterForm, OrderFilterForm, ReturnFilterForm, StockFilterForm
from reports.forms.processing import ProcessingFilterForm

pytestmark = pytest.mark.django_db

CRISPY = engines["django"].from_string("{% load crispy_forms_tags %}{% crispy form %}")
KEPT = engines["django"].from_string("{% load filter_bars %}{% filter_bar form %}")


@pytest.fixture(autouse=True)
def _nothing_kept():
    forget_rendered()
    yield
    forget_rendered()


@pytest.fixture
def account() -> SellerAccount:
    account = SellerAccount.objects.create(
        selling_partner_id="A1FILTERBARS01",
        region="eu",
        display_name="Filter Shop",
        refresh_token_encrypted=encrypt_secret("Atzr|x"),
        status=SellerAccount.Status.CONNECTED,
    )
    AccountMarketplace.objects.create(
        account=account, marketplace_id="A1PA6795UKMFR9", country_code="DE", name="Amazon.de"
    )
    return account


def kept(form) -> str:
    return KEPT.render({"form": form})


def crispy(form) -> str:
    return CRISPY.render({"form": form})


FORMS = [
    (OrderFilterForm, {}),
    (OrderFilterForm, {"q": "SKU-1", "status": "Shipped", "page": "3"}),
    (OrderFilterForm, {"q": "ab", "since": "2025-03-01", "until": "2025-02-01"}),
    (ReturnFilterForm, {}),
    (StockFilterForm, {}),
    (InvoiceFilterForm, {"since": "not a day"}),
    (ProcessingFilterForm, {"status": "imported", "batch": "abc"}),
]


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize(("form_class", "query"), FORMS)
def test_prints_what_crispy_prints(account, language, form_class, query):
    data = QueryDict(mutable=True)
    data.update(query)
    with translation.override(language):
        first = kept(form_class(data or None))
        again = kept(form_class(data or None))  # the kept rendering
        assert first == again == crispy(form_class(data or None))


def test_log_form_prints_what_crispy_prints(account):
    form = ApiCallFilterForm(None, operations=["Reports.getReport"])
    assert kept(form) == kept(ApiCallFilterForm(None, operations=["Reports.getReport"]))
    assert kept(form) == crispy(ApiCallFilterForm(None, operations=["Reports.getReport"]))


def test_a_new_choice_shows_at_once(account):
    assert "Amazon.fr" not in kept(OrderFilterForm(None))
    AccountMarketplace.objects.create(
        account=account, marketplace_id="A13V1IB3VIYZZH", country_code="FR", name="Amazon.fr"
    )
    assert "Amazon.fr" in kept(OrderFilterForm(None))


def test_a_widgets_own_choices_count(account):
    """Data exchange » Log lists the logged operations in the select of a text field."""
    assert "Reports.createReport" not in kept(ApiCallFilterForm(None, operations=["A.b"]))
    assert "Reports.createReport" in kept(
        ApiCallFilterForm(None, operations=["A.b", "Reports.createReport"])
    )


def test_values_and_errors_are_the_forms_own(account):
    assert 'value="SKU-7"' in kept(OrderFilterForm(QueryDict("q=SKU-7")))
    assert 'value="SKU-8"' in kept(OrderFilterForm(QueryDict("q=SKU-8")))
    valid = kept(OrderFilterForm(QueryDict("since=2025-01-01")))
    wrong = kept(OrderFilterForm(QueryDict("since=2025-01-01&until=2024-01-01")))
    assert "The end date must not be before the start date." in wrong
    assert "The end date must not be before the start date." not in valid


def test_other_query_parameters_share_the_rendering(account):
    """The page number is not part of the bar: page 2 uses page 1's rendering."""
    kept(OrderFilterForm(QueryDict("status=Shipped")))
    from core.templatetags import filter_bars

    assert len(filter_bars._rendered) == 1
    kept(OrderFilterForm(QueryDict("status=Shipped&page=2")))
    assert len(filter_bars._rendered) == 1


def test_each_language_its_own(account):
    with translation.override("en"):
        english = kept(OrderFilterForm(None))
    with translation.override("de"):
        german = kept(OrderFilterForm(None))
        assert german == crispy(OrderFilterForm(None))
    assert "All marketplaces" in english
    assert "All marketplaces" not in german


def test_each_time_zone_its_own(account):
    from core.templatetags.filter_bars import cache_key

    form = ProcessingFilterForm(None)
    with timezone.override("Europe/Berlin"):
        berlin = cache_key(form)
    with timezone.override("America/New_York"):
        new_york = cache_key(form)
    assert berlin != new_york


def test_a_form_sent_by_post_is_never_kept(account):
    """A POST form carries a CSRF token: rendered every time."""
    from crispy_forms.helper import FormHelper

    from core.templatetags import filter_bars

    form = OrderFilterForm(None)
    form.helper = FormHelper()
    form.helper.form_method = "post"
    kept(form)
    assert not filter_bars._rendered


@pytest.mark.parametrize("form_class", [ProcessingFilterForm, OrderFilterForm])
def test_no_more_queries_than_crispy(account, form_class):
    """The account select's choices come from the database: read once, and not counted."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as by_crispy:
        crispy(form_class(None))
    with CaptureQueriesContext(connection) as first:
        kept(form_class(None))
    with CaptureQueriesContext(connection) as again:
        kept(form_class(None))
    assert len(first) == len(again) == len(by_crispy), [q["sql"] for q in first.captured_queries]
