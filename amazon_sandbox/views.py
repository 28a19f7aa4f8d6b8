"""The sandbox's HTTP endpoints."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse


def index(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"service": "amazon-sandbox"})
