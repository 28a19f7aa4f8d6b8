"""The JSON control API under `/_control/` (documented in amazon_sandbox/README.md).

Thin: each view reads its JSON body or query, calls one function of `control`, and answers
JSON; ControlError is 400 and UnknownObject 404, both as `{"error": "..."}`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from amazon_sandbox import control
from amazon_sandbox.ratelimit import limiter


def _body(request: HttpRequest) -> dict:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except ValueError as e:
        raise control.ControlError("the body must be a JSON object") from e
    if not isinstance(body, dict):
        raise control.ControlError("the body must be a JSON object")
    return body


def _endpoint(view: Callable[..., object]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, **kwargs: object) -> HttpResponse:
        try:
            result = view(request, _body(request), **kwargs)
        except control.UnknownObject as e:
            return JsonResponse({"error": str(e)}, status=404)
        except (control.ControlError, TypeError) as e:
            # TypeError: an unexpected or missing field in the body.
            return JsonResponse({"error": str(e)}, status=400)
        return result if isinstance(result, HttpResponse) else JsonResponse(result, safe=False)

    return wrapped


@require_POST
@_endpoint
def reset(request: HttpRequest, body: dict) -> dict:
    control.reset()
    limiter.reset()
    return {"reset": True, **control.clock_state()}


@require_http_methods(["GET", "POST"])
@_endpoint
def clock(request: HttpRequest, body: dict) -> dict:
    if request.method == "POST":
        if "advance_seconds" not in body:
            raise control.ControlError("advance_seconds is required")
        control.advance_clock(seconds=body["advance_seconds"])
    return control.clock_state()


@require_http_methods(["GET", "POST"])
@_endpoint
def history(request: HttpRequest, body: dict) -> dict:
    if request.method == "POST":
        if "history" not in body:
            raise control.ControlError("history is required")
        return control.set_history(history=body["history"])
    return control.history_state()


@require_http_methods(["GET", "POST"])
@_endpoint
def app(request: HttpRequest, body: dict) -> dict:
    if request.method == "POST":
        return control.configure_app(**body)
    return control.app_state()


@require_POST
@_endpoint
def refresh_token(request: HttpRequest, body: dict, seller_id: str) -> dict:
    token = control.mint_refresh_token(selling_partner_id=seller_id, region=body.get("region", ""))
    return {"refresh_token": token, "selling_partner_id": seller_id, "region": body["region"]}


@require_POST
@_endpoint
def revoke(request: HttpRequest, body: dict, seller_id: str) -> dict:
    return control.revoke_authorization(selling_partner_id=seller_id, region=body.get("region", ""))


@require_http_methods(["GET", "POST"])
@_endpoint
def orders(request: HttpRequest, body: dict, seller_id: str) -> dict:
    if request.method == "POST":
        return control.add_orders(selling_partner_id=seller_id, **body)
    return {
        "orders": control.seller_orders(
            selling_partner_id=seller_id,
            region=request.GET.get("region", ""),
            start=request.GET.get("start", ""),
            end=request.GET.get("end", ""),
        )
    }


@require_http_methods(["GET", "POST"])
@_endpoint
def reports(request: HttpRequest, body: dict) -> object:
    if request.method == "POST":
        return control.seller_central_report(**body)
    return {
        "reports": control.list_reports(
            selling_partner_id=request.GET.get("selling_partner_id", ""),
            region=request.GET.get("region", ""),
        )
    }


@require_http_methods(["GET", "POST"])
@_endpoint
def report(request: HttpRequest, body: dict, report_id: str) -> dict:
    if request.method == "POST":
        return control.set_report_outcome(report_id, **body)
    return control.report_json(control._report(report_id))


@require_POST
@_endpoint
def document(request: HttpRequest, body: dict, document_id: str) -> dict:
    return control.damage_document(document_id, **body)


@require_http_methods(["GET", "POST", "DELETE"])
@_endpoint
def faults(request: HttpRequest, body: dict) -> object:
    if request.method == "POST":
        return control.fault_json(control.arm_fault(**body))
    if request.method == "DELETE":
        return {"cleared": control.clear_faults()}
    return {"faults": control.list_faults()}


@require_GET
@_endpoint
def calls(request: HttpRequest, body: dict) -> dict:
    try:
        since_id = int(request.GET.get("since_id", "0"))
    except ValueError as e:
        raise control.ControlError("since_id must be an integer") from e
    return {
        "calls": control.calls(
            operation=request.GET.get("operation", ""),
            selling_partner_id=request.GET.get("selling_partner_id", ""),
            since_id=since_id,
        )
    }


@require_GET
@_endpoint
def notifications(request: HttpRequest, body: dict) -> dict:
    return control.notifications_state(selling_partner_id=request.GET.get("selling_partner_id", ""))


@require_POST
@_endpoint
def publish_notifications(request: HttpRequest, body: dict) -> dict:
    return control.publish_notifications()
