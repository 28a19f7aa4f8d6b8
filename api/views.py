"""Settings » API tokens: administrators make and revoke the tokens integrations use.

Only users with `api.manage_apitoken` (superusers have it) reach these pages: `core.roles`
checks it by the URL namespace, like every other page's permission.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from api.forms import TokenForm
from api.models import ApiToken
from api.services import create_token, revoke_token


def token_list(request: HttpRequest) -> HttpResponse:
    """The tokens, and the form for a new one; a new token's secret is shown on this answer
    only (it is stored nowhere)."""
    secret = None
    created = None
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            created, secret = create_token(**form.cleaned_data, acting_user=request.user)
            form = TokenForm()
    else:
        form = TokenForm()
    tokens = ApiToken.objects.prefetch_related("accounts").order_by("revoked_at", "name")
    return render(
        request,
        "api/tokens.html",
        {"form": form, "tokens": tokens, "secret": secret, "created": created},
    )


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = revoke_token(get_object_or_404(ApiToken, pk=pk), acting_user=request.user)
    messages.success(
        request,
        _("Token “%(name)s” is revoked: it is refused from now on.") % {"name": token.name},
    )
    return redirect("api_tokens:list")
