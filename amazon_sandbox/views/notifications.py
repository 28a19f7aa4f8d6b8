"""Notifications API v1: destinations and subscriptions (the messages themselves are pushed
by the publisher in `amazon_sandbox.notifications`).

Destinations and `getSubscriptionById`/`deleteSubscriptionById` are grantless (the app's
`client_credentials` token with the notifications scope); `createSubscription` and
`getSubscription` act for the seller whose token calls them. Answers are wrapped in
`payload`, as in every v1 API.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.http import HttpRequest, HttpResponse

from amazon_sandbox import notifications
from amazon_sandbox.authorization import Caller
from amazon_sandbox.errors import invalid_input
from amazon_sandbox.views.common import json_response, method_router, read_json, spapi_operation

# The model's pattern for an SQS ARN.
_SQS_ARN = re.compile(r"^arn:aws:sqs:\S+:\S+:\S+")


def _required(body: dict, *names: str) -> None:
    missing = [n for n in names if body.get(n) in (None, "")]
    if missing:
        raise invalid_input(
            "One or more required parameters missing", "".join(f"{n};" for n in missing)
        )


@spapi_operation("getDestinations", grantless=True)
def get_destinations(request: HttpRequest, *, caller: None, now: datetime) -> HttpResponse:
    rows = notifications.NotificationDestination.objects.filter(
        region=request.sandbox_region
    ).order_by("pk")
    return json_response({"payload": [notifications.destination_json(d) for d in rows]})


@spapi_operation("createDestination", grantless=True)
def create_destination(request: HttpRequest, *, caller: None, now: datetime) -> HttpResponse:
    body = read_json(request)
    _required(body, "name", "resourceSpecification")
    name, specification = body["name"], body["resourceSpecification"]
    if not isinstance(name, str) or len(name) > 256:
        raise invalid_input("name must be a string of at most 256 characters.")
    if not isinstance(specification, dict):
        raise invalid_input("resourceSpecification must be an object.")
    if "eventBridge" in specification:
        raise invalid_input("The sandbox delivers to SQS destinations only.")
    sqs = specification.get("sqs")
    arn = sqs.get("arn") if isinstance(sqs, dict) else None
    if not isinstance(arn, str) or not _SQS_ARN.match(arn) or len(arn) > 1000:
        raise invalid_input("resourceSpecification.sqs.arn must be the ARN of an SQS queue.")
    destination = notifications.create_destination(
        region=request.sandbox_region, name=name, sqs_arn=arn
    )
    return json_response({"payload": notifications.destination_json(destination)})


@spapi_operation("getSubscription")
def get_subscription(
    request: HttpRequest, *, caller: Caller, now: datetime, notification_type: str
) -> HttpResponse:
    subscription = notifications.subscription_of(
        caller.seller,
        notification_type=notification_type,
        payload_version=request.GET.get("payloadVersion", ""),
    )
    return json_response({"payload": notifications.subscription_json(subscription)})


@spapi_operation("createSubscription")
def create_subscription(
    request: HttpRequest, *, caller: Caller, now: datetime, notification_type: str
) -> HttpResponse:
    body = read_json(request)
    _required(body, "payloadVersion", "destinationId")
    if not isinstance(body["payloadVersion"], str) or not isinstance(body["destinationId"], str):
        raise invalid_input("payloadVersion and destinationId must be strings.")
    subscription = notifications.create_subscription(
        caller.seller,
        notification_type=notification_type,
        payload_version=body["payloadVersion"],
        destination_id=body["destinationId"],
    )
    return json_response({"payload": notifications.subscription_json(subscription)})


@spapi_operation("getSubscriptionById", grantless=True)
def get_subscription_by_id(
    request: HttpRequest,
    *,
    caller: None,
    now: datetime,
    notification_type: str,
    subscription_id: str,
) -> HttpResponse:
    subscription = notifications.subscription_by_id(
        region=request.sandbox_region,
        notification_type=notification_type,
        subscription_id=subscription_id,
    )
    return json_response({"payload": notifications.subscription_json(subscription)})


@spapi_operation("deleteSubscriptionById", grantless=True)
def delete_subscription_by_id(
    request: HttpRequest,
    *,
    caller: None,
    now: datetime,
    notification_type: str,
    subscription_id: str,
) -> HttpResponse:
    subscription = notifications.subscription_by_id(
        region=request.sandbox_region,
        notification_type=notification_type,
        subscription_id=subscription_id,
    )
    notifications.delete_subscription(subscription)
    return json_response({})


destinations = method_router(get=get_destinations, post=create_destination)
subscriptions = method_router(get=get_subscription, post=create_subscription)
subscription_item = method_router(get=get_subscription_by_id, delete=delete_subscription_by_id)
