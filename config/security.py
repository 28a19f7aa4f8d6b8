"""Security headers Django 5.2's SecurityMiddleware does not send (CSP and Permissions-Policy),
and the client address behind a trusted proxy.

The policies are settings (`CONTENT_SECURITY_POLICY`, `PERMISSIONS_POLICY`) so that they can be
tightened without touching code. Every response gets them, including redirects, errors and
static files, because the middleware sits right after SecurityMiddleware.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy() -> str:
    """The CSP header value from settings.CONTENT_SECURITY_POLICY.

    Connecting an account posts to our own view, which redirects to Amazon's consent page;
    browsers apply `form-action` to that redirect too, so the Seller Central origins (or the
    sandbox's, in the demo) are added to it here, from the settings the redirect uses.
    """
    directives = {name: list(sources) for name, sources in settings.CONTENT_SECURITY_POLICY.items()}
    if "form-action" in directives:
        consent_origins = sorted(
            {_origin(url) for url in settings.SELLER_CENTRAL_URLS.values()} - {""}
        )
        directives["form-action"] += consent_origins
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


def permissions_policy() -> str:
    """The Permissions-Policy header value: every listed browser feature off (`feature=()`)."""
    return ", ".join(f"{feature}=()" for feature in settings.PERMISSIONS_POLICY_DISABLED)


class SecurityHeadersMiddleware:
    """Adds Content-Security-Policy and Permissions-Policy unless a view set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers.setdefault("Permissions-Policy", permissions_policy())
        return response


def client_address(request: HttpRequest) -> str:
    """The address a request came from, for the login throttle (AXES_CLIENT_IP_CALLABLE).

    Behind the TLS proxy every request arrives from the proxy, which appends the address it
    saw to X-Forwarded-For. That last entry is believed only when the request really comes
    from one of TRUSTED_PROXY_IPS; anyone else could write the header themselves.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and remote in settings.TRUSTED_PROXY_IPS:
        return forwarded.split(",")[-1].strip() or remote
    return remote
