"""The 403, 404 and 500 pages are the product's own (styled, translated, with the favicon), and
the 500 page renders without a request context."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation
from django.views import defaults

pytestmark = pytest.mark.django_db

FAVICON = 'rel="icon" href="/static/favicon.svg"'


def test_a_missing_page_is_the_products_404(logged_in_client):
    response = logged_in_client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert 'id="error-page"' in page
    assert "Page not found" in page
    assert "bootstrap.min.css" in page and "favicon.svg" in page


def test_the_500_page_needs_no_request_context():
    page = render_to_string("500.html")
    assert 'id="error-page"' in page and "Something went wrong" in page
    response = defaults.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert "favicon.svg" in response.content.decode()


def test_a_permission_denied_is_the_products_403():
    response = defaults.permission_denied(RequestFactory().get("/"), PermissionDenied())
    assert response.status_code == 403
    assert 'id="error-page"' in response.content.decode()
    assert "Not allowed" in response.content.decode()


def test_the_error_pages_speak_german():
    with translation.override("de"):
        page = render_to_string("404.html")
    assert 'lang="de"' in page
    assert "There is no page at this address" not in page
    assert "Zurück zur Übersicht" in page


def test_every_page_links_the_favicon(logged_in_client):
    assert "favicon.svg" in logged_in_client.get("/").content.decode()
