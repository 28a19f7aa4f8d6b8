"""The Notifications API operations of the client: requests checked against Amazon's model,
the model's own ``x-amzn-api-sandbox`` answers parsed, and which token each one sends (the
grantless operations speak for the app, the others for the seller)."""

from __future__ import annotations

import json

import pytest

from amazon_settings.spapi import (
    Destination,
    InMemoryTokenBucket,
    SpApiRequestError,
    SpApiTransientError,
    Subscription,
)

from .support import (
    ENDPOINT,
    TOKEN_1,
    assert_body_valid,
    assert_path_matches,
    sandbox_example,
)

NOTIFICATIONS = f"{ENDPOINT}/notifications/v1"
FINISHED = "REPORT_PROCESSING_FINISHED"
GRANTLESS_TOKEN = "Atza|IwEBIGrantlessNotificationsToken"
QUEUE_ARN = "arn:aws:sqs:eu-west-1:444455556666:order-import"


class GrantlessTokens:
    def __init__(self) -> None:
        self.calls: list[bool] = []

    def __call__(self, *, force_refresh: bool = False) -> str:
        self.calls.append(force_refresh)
        return GRANTLESS_TOKEN


@pytest.fixture
def grantless() -> GrantlessTokens:
    return GrantlessTokens()


@pytest.fixture
def client(make_client, grantless):
    return make_client(grantless_token_provider=grantless)


def sent(mocked, index: int = -1):
    return mocked.calls[index].request


def test_get_destinations_is_grantless_and_parses_the_sandbox_answer(
    client, mocked, notifications_model, tokens, grantless
):
    example = sandbox_example(notifications_model, "getDestinations", "200")
    mocked.get(f"{NOTIFICATIONS}/destinations", json=example["response"])

    destinations = client.get_destinations()

    assert destinations == [
        Destination(
            destination_id="TEST_CASE_200",
            name="SQSDestination",
            sqs_arn="arn:aws:sqs:us-east-2:444455556666:queue1",
        )
    ]
    request = sent(mocked)
    assert_path_matches(notifications_model, "getDestinations", request.method, request.url)
    assert request.headers["x-amz-access-token"] == GRANTLESS_TOKEN
    assert tokens.calls == [] and grantless.calls == [False]


def test_create_destination_sends_an_sqs_specification_that_fits_the_model(
    client, mocked, notifications_model
):
    example = sandbox_example(notifications_model, "createDestination", "200")
    mocked.post(f"{NOTIFICATIONS}/destinations", json=example["response"])

    destination = client.create_destination(name="order-import", sqs_arn=QUEUE_ARN)

    assert destination.destination_id == "TEST_CASE_200_DESTINATION_ID"
    request = sent(mocked)
    assert_path_matches(notifications_model, "createDestination", request.method, request.url)
    body = json.loads(request.body)
    assert_body_valid(notifications_model, "CreateDestinationRequest", body)
    assert body == {"name": "order-import", "resourceSpecification": {"sqs": {"arn": QUEUE_ARN}}}
    assert request.headers["x-amz-access-token"] == GRANTLESS_TOKEN


def test_create_destination_refuses_what_is_not_a_queue_arn(client, mocked):
    with pytest.raises(ValueError, match="SQS queue ARN"):
        client.create_destination(name="x", sqs_arn="https://sqs.eu-west-1.amazonaws.com/1/q")
    assert len(mocked.calls) == 0


def test_create_destination_is_not_retried_after_a_500(client, mocked):
    mocked.post(f"{NOTIFICATIONS}/destinations", status=500, json={"errors": []})

    with pytest.raises(SpApiTransientError):
        client.create_destination(name="order-import", sqs_arn=QUEUE_ARN)

    assert len(mocked.calls) == 1


def test_subscriptions_are_made_and_read_with_the_sellers_token(
    client, mocked, notifications_model, tokens, grantless
):
    created = sandbox_example(notifications_model, "createSubscription", "200")
    read = sandbox_example(notifications_model, "getSubscription", "200")
    mocked.post(f"{NOTIFICATIONS}/subscriptions/{FINISHED}", json=created["response"])
    mocked.get(f"{NOTIFICATIONS}/subscriptions/{FINISHED}", json=read["response"])

    subscription = client.create_subscription(FINISHED, destination_id="D1")
    again = client.get_subscription(FINISHED)

    expected = Subscription(
        subscription_id="TEST_CASE_200_SUBSCRIPTION_ID",
        payload_version="1.0",
        destination_id="TEST_CASE_200_DESTINATION_ID",
    )
    assert subscription == again == expected
    post, get = sent(mocked, 0), sent(mocked, 1)
    assert_path_matches(notifications_model, "createSubscription", post.method, post.url)
    assert_path_matches(notifications_model, "getSubscription", get.method, get.url)
    body = json.loads(post.body)
    assert_body_valid(notifications_model, "CreateSubscriptionRequest", body)
    assert body == {"payloadVersion": "1.0", "destinationId": "D1"}
    assert post.headers["x-amz-access-token"] == get.headers["x-amz-access-token"] == TOKEN_1
    assert grantless.calls == []


def test_no_subscription_is_none_and_other_errors_are_raised(client, mocked):
    mocked.get(
        f"{NOTIFICATIONS}/subscriptions/{FINISHED}",
        status=404,
        json={"errors": [{"code": "NotFound", "message": "Subscription not found."}]},
    )
    assert client.get_subscription(FINISHED) is None

    mocked.post(
        f"{NOTIFICATIONS}/subscriptions/{FINISHED}",
        status=409,
        json={"errors": [{"code": "Conflict", "message": "Subscription already exists."}]},
    )
    with pytest.raises(SpApiRequestError, match=r"409 Conflict: Subscription already exists\."):
        client.create_subscription(FINISHED, destination_id="D1")


def test_delete_subscription_by_id_is_grantless(client, mocked, notifications_model, grantless):
    example = sandbox_example(notifications_model, "deleteSubscriptionById", "200")
    mocked.delete(f"{NOTIFICATIONS}/subscriptions/{FINISHED}/S-1", json=example["response"])

    client.delete_subscription_by_id(FINISHED, "S-1")

    request = sent(mocked)
    assert_path_matches(notifications_model, "deleteSubscriptionById", request.method, request.url)
    assert request.headers["x-amz-access-token"] == GRANTLESS_TOKEN
    assert grantless.calls == [False]


def test_a_grantless_operation_needs_a_grantless_token(make_client, mocked, tokens):
    client = make_client()

    with pytest.raises(ValueError, match="grantless"):
        client.get_destinations()

    assert len(mocked.calls) == 0 and tokens.calls == []


def test_grantless_calls_take_the_apps_bucket_not_the_sellers(make_client, mocked, grantless):
    class Recording(InMemoryTokenBucket):
        def __init__(self) -> None:
            super().__init__(sleep=lambda seconds: None)
            self.keys: list[str] = []

        def acquire(self, key, limit, *, max_wait):
            self.keys.append(key)
            return super().acquire(key, limit, max_wait=max_wait)

    limiter = Recording()
    client = make_client(
        grantless_token_provider=grantless,
        rate_limiter=limiter,
        limiter_key="A2MUELLERHW7QX:eu:",
        grantless_limiter_key="app:eu:",
    )
    mocked.get(f"{NOTIFICATIONS}/destinations", json={"payload": []})
    mocked.get(f"{NOTIFICATIONS}/subscriptions/{FINISHED}", status=404, json={"errors": []})

    client.get_destinations()
    client.get_subscription(FINISHED)

    assert limiter.keys == [
        "app:eu:Notifications.getDestinations",
        "A2MUELLERHW7QX:eu:Notifications.getSubscription",
    ]
