"""``SpApiClient``: the one way this product talks to the Selling Partner API.

Every call, report-document downloads included, passes through ``SpApiClient._request``,
which applies the rate limiter, the timeout and the headers, logs one line and emits one
``CallRecord`` per attempt, turns failures into the ``errors`` taxonomy and retries what is
safe to retry. Public methods return frozen dataclasses from ``types``.

One class in one module although it is longer than our usual 400 lines: each operation is a
short method beside the ``_request`` they all pass through, as Sentry's API clients are, and
splitting the operations from their one transport would hide the path every call takes.
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import urllib3

from ._records import OnCall, emit, make_record
from .auth import TokenProvider
from .documents import gunzip
from .errors import (
    DEFAULT_RETRY_AFTER,
    DocumentTooLarge,
    DocumentUrlExpired,
    SpApiAuthError,
    SpApiError,
    SpApiRequestError,
    SpApiThrottled,
    SpApiTransientError,
    error_from_response,
)
from .ratelimit import OPERATION_LIMITS, RateLimit, RateLimiter
from .types import (
    Destination,
    DownloadedDocument,
    MarketplaceParticipation,
    Report,
    ReportDocument,
    ReportPage,
    ReportSchedule,
    RestrictedDataToken,
    Subscription,
    format_datetime,
)

REPORTS = "/reports/2021-06-30"
NOTIFICATIONS = "/notifications/v1"
# The payload version Amazon's own clients subscribe with for every notification type.
DEFAULT_PAYLOAD_VERSION = "1.0"
DOWNLOAD_DOCUMENT = "Reports.downloadDocument"
DEFAULT_MAX_DOCUMENT_BYTES = 1024**3  # 1 GiB, compressed and uncompressed alike
_CHUNK = 64 * 1024

# Failures after which a non-idempotent request certainly did not change anything at Amazon:
# 429 and 503 are refused before processing; a connect timeout never reached it.
_UNPROCESSED_STATUSES = frozenset({429, 503})
_UNPROCESSED_CODES = frozenset({"ConnectTimeout", "LocalRateLimit"})


class SpApiClient:
    """A client for one seller authorisation in one region.

    - ``endpoint``: the regional base URL, e.g. ``https://sellingpartnerapi-eu.amazon.com``.
    - ``token_provider``: returns the current LWA access token; called as
      ``token_provider()`` before each attempt and, once per call at most, as
      ``token_provider(force_refresh=True)`` after Amazon answered 403 "The access token you
      provided is revoked, malformed or invalid." (see ``auth.TokenProvider``).
    - ``grantless_token_provider``: the same for the grantless operations (Notifications'
      destinations and ``deleteSubscriptionById``): an LWA ``client_credentials`` token with
      the notifications scope, which speaks for the app, not for a seller. Without one, those
      operations raise ``ValueError``.
    - ``rate_limiter``/``limiter_key``: client-side buckets keyed ``limiter_key + operation``;
      use a key per seller and region, since Amazon meters per seller and app. Grantless
      operations are metered per app: their buckets are keyed ``grantless_limiter_key +
      operation``.
    - ``max_retries``: retries after the first attempt for transient errors; ``max_wait``:
      the most this client sleeps in one call (backoff plus rate-limiter waits), after which
      it raises the last error.
    - ``on_call``: receives one ``CallRecord`` per attempt (for the "Data exchange » Log").

    Every public method raises only ``SpApiError`` subclasses (never a ``requests``
    exception), or ``ValueError``/``TypeError`` for arguments that can never work.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        token_provider: TokenProvider,
        grantless_token_provider: TokenProvider | None = None,
        session: requests.Session,
        timeout: float = 30,
        user_agent: str,
        rate_limiter: RateLimiter | None = None,
        limiter_key: str = "",
        grantless_limiter_key: str = "grantless:",
        max_retries: int = 3,
        max_wait: float = 60,
        on_call: OnCall | None = None,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        backoff_base: float = 1.0,
        backoff_cap: float = 30.0,
        max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
    ) -> None:
        self._endpoint = endpoint.rstrip("/")
        self._token_provider = token_provider
        self._grantless_token_provider = grantless_token_provider
        self._session = session
        self._timeout = timeout
        self._user_agent = user_agent
        self._rate_limiter = rate_limiter
        self._limiter_key = limiter_key
        self._grantless_limiter_key = grantless_limiter_key
        self._max_retries = max_retries
        self._max_wait = max_wait
        self._on_call = on_call
        self._sleep = sleep
        self._random = random
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._max_document_bytes = max_document_bytes

    # Sellers API v1

    def get_marketplace_participations(self) -> list[MarketplaceParticipation]:
        """Sellers API ``getMarketplaceParticipations``: the seller's marketplaces.

        Read-only; the cheapest way to test that a connection works.
        Reference: https://developer-docs.amazon.com/sp-api/docs/sellers-api-v1-reference#getmarketplaceparticipations
        """
        operation = "Sellers.getMarketplaceParticipations"
        body = self._json(operation, "GET", "/sellers/v1/marketplaceParticipations")
        return _parse(
            operation, lambda: [MarketplaceParticipation.from_api(p) for p in body["payload"]]
        )

    # Reports API 2021-06-30

    def get_reports(
        self,
        *,
        report_types: Sequence[str] | None = None,
        processing_statuses: Sequence[str] | None = None,
        marketplace_ids: Sequence[str] | None = None,
        page_size: int | None = None,
        created_since: datetime | None = None,
        created_until: datetime | None = None,
        next_token: str | None = None,
    ) -> ReportPage:
        """Reports API ``getReports``: one page of reports matching the filters.

        Either ``report_types`` or ``next_token`` is required, and ``next_token`` must come
        alone (Amazon rejects it with any filter): raises ``ValueError`` otherwise. The list
        includes reports made by Amazon, Seller Central users and other apps. Read-only.
        Reference: https://developer-docs.amazon.com/sp-api/docs/reports-api-v2021-06-30-reference#getreports
        """
        filters: dict[str, str] = {}
        if report_types is not None:
            filters["reportTypes"] = _joined("report_types", report_types)
        if processing_statuses is not None:
            filters["processingStatuses"] = _joined("processing_statuses", processing_statuses)
        if marketplace_ids is not None:
            filters["marketplaceIds"] = _joined("marketplace_ids", marketplace_ids)
        if page_size is not None:
            filters["pageSize"] = str(int(page_size))
        if created_since is not None:
            filters["createdSince"] = format_datetime(created_since)
        if created_until is not None:
            filters["createdUntil"] = format_datetime(created_until)
        if next_token is not None:
            if filters:
                raise ValueError("getReports: nextToken must be sent alone, without filters")
            params = {"nextToken": next_token}
        elif "reportTypes" not in filters:
            raise ValueError("getReports needs report_types or next_token")
        else:
            params = filters
        operation = "Reports.getReports"
        body = self._json(operation, "GET", f"{REPORTS}/reports", params=params)
        return _parse(
            operation,
            lambda: ReportPage(
                reports=tuple(Report.from_api(r) for r in body["reports"]),
                next_token=body.get("nextToken") or None,
            ),
        )

    def iter_reports(
        self,
        *,
        report_types: Sequence[str],
        processing_statuses: Sequence[str] | None = None,
        marketplace_ids: Sequence[str] | None = None,
        page_size: int | None = None,
        created_since: datetime | None = None,
        created_until: datetime | None = None,
    ) -> Iterator[Report]:
        """Every report matching the filters, following ``nextToken`` page by page.

        Lazy: each page is fetched when the previous one is used up. Raises ``SpApiError``
        (code ``UnexpectedResponse``) if Amazon repeats a nextToken, instead of looping.
        """
        page = self.get_reports(
            report_types=report_types,
            processing_statuses=processing_statuses,
            marketplace_ids=marketplace_ids,
            page_size=page_size,
            created_since=created_since,
            created_until=created_until,
        )
        seen: set[str] = set()
        while True:
            yield from page.reports
            if page.next_token is None:
                return
            if page.next_token in seen:
                raise SpApiError(
                    operation="Reports.getReports",
                    code="UnexpectedResponse",
                    message="Amazon returned the same nextToken twice",
                )
            seen.add(page.next_token)
            page = self.get_reports(next_token=page.next_token)

    def create_report(
        self,
        *,
        report_type: str,
        marketplace_ids: Sequence[str],
        data_start_time: datetime | None = None,
        data_end_time: datetime | None = None,
        report_options: Mapping[str, str] | None = None,
    ) -> str:
        """Reports API ``createReport``: ask Amazon for a report; returns the ``reportId``.

        Not idempotent: each successful call makes a new report. So it is retried only after
        failures that prove Amazon did not act (429, 503, connect timeout), never after a
        500 or a read timeout; the caller's state machine owns that decision.
        Reference: https://developer-docs.amazon.com/sp-api/docs/reports-api-v2021-06-30-reference#createreport
        """
        body: dict[str, Any] = {
            "reportType": report_type,
            "marketplaceIds": _string_list("marketplace_ids", marketplace_ids),
        }
        if data_start_time is not None:
            body["dataStartTime"] = format_datetime(data_start_time)
        if data_end_time is not None:
            body["dataEndTime"] = format_datetime(data_end_time)
        if report_options:
            body["reportOptions"] = dict(report_options)
        operation = "Reports.createReport"
        answer = self._json(operation, "POST", f"{REPORTS}/reports", json=body, idempotent=False)
        return _parse(operation, lambda: _required_str(answer, "reportId"))

    def get_report(self, report_id: str) -> Report:
        """Reports API ``getReport``: the report's status and, when DONE, its document id.

        Read-only; 2 requests per second, so polling every few minutes is free.
        Reference: https://developer-docs.amazon.com/sp-api/docs/reports-api-v2021-06-30-reference#getreport
        """
        operation = "Reports.getReport"
        body = self._json(operation, "GET", f"{REPORTS}/reports/{_segment(report_id)}")
        return _parse(operation, lambda: Report.from_api(body))

    def cancel_report(self, report_id: str) -> None:
        """Reports API ``cancelReport``: cancel a report that is still ``IN_QUEUE``.

        Amazon refuses reports in other states (``SpApiRequestError``); a second cancel is
        therefore not a no-op, so check the status first if that matters.
        Reference: https://developer-docs.amazon.com/sp-api/docs/reports-api-v2021-06-30-reference#cancelreport
        """
        self._request("Reports.cancelReport", "DELETE", f"{REPORTS}/reports/{_segment(report_id)}")

    def get_report_schedules(self, *, report_types: Sequence[str]) -> list[ReportSchedule]:
        """Reports API ``getReportSchedules``: the schedules for 1 to 10 report types. Read-only.

        Reference: https://developer-docs.amazon.com/sp-api/docs/reports-api-v2021-06-30-reference#getreportschedules
        """
        operation = "Reports.getReportSchedules"
        params = {"reportTypes": _joined("report_types", report_types)}
        body = self._json(operation, "GET", f"{REPORTS}/schedules", params=params)
        return _parse(
            operation, lambda: [ReportSchedule.from_api(s) for s in body["reportSchedules"]]
        )

    def create_report_schedule(
        self,
        *,
        report_type: str,
        marketplace_ids: Sequence[str],
        period: str,
        next_report_creation_time: datetime | None = None,
        report_options: Mapping[str, str] | None = None,
    ) -> str:
        """Reports API ``createReportSchedule``; returns the ``reportScheduleId``.

        Idempotent in effect: a schedule for the same type and marketplaces replaces the old
        one. ``period`` is one of Amazon's ISO 8601 periods (``PT5M`` … ``P1M``).
        Reference: https://developer-docs.amazon.com/sp-api/docs/reports-api-v2021-06-30-reference#createreportschedule
        """
        body: dict[str, Any] = {
            "reportType": report_type,
            "marketplaceIds": _string_list("marketplace_ids", marketplace_ids),
            "period": period,
        }
        if next_report_creation_time is not None:
            body["nextReportCreationTime"] = format_datetime(next_report_creation_time)
        if report_options:
            body["reportOptions"] = dict(report_options)
        operation = "Reports.createReportSchedule"
        answer = self._json(operation, "POST", f"{REPORTS}/schedules", json=body)
        return _parse(operation, lambda: _required_str(answer, "reportScheduleId"))

    def get_report_schedule(self, report_schedule_id: str) -> ReportSchedule:
        """Reports API ``getReportSchedule``. Read-only.

        Reference: https://developer-docs.amazon.com/sp-api/docs/reports-api-v2021-06-30-reference#getreportschedule
        """
        operation = "Reports.getReportSchedule"
        path = f"{REPORTS}/schedules/{_segment(report_schedule_id)}"
        body = self._json(operation, "GET", path)
        return _parse(operation, lambda: ReportSchedule.from_api(body))

    def cancel_report_schedule(self, report_schedule_id: str) -> None:
        """Reports API ``cancelReportSchedule``: stop a schedule.

        Reference: https://developer-docs.amazon.com/sp-api/docs/reports-api-v2021-06-30-reference#cancelreportschedule
        """
        path = f"{REPORTS}/schedules/{_segment(report_schedule_id)}"
        self._request("Reports.cancelReportSchedule", "DELETE", path)

    def get_report_document(
        self, report_document_id: str, *, restricted: bool = False
    ) -> ReportDocument:
        """Reports API ``getReportDocument``: a presigned download URL valid for 5 minutes.

        With ``restricted=True`` (report types with buyer PII) it first obtains a Restricted
        Data Token for exactly this document's path and calls with it. Read-only; call it
        right before each download and never store the URL.
        Reference: https://developer-docs.amazon.com/sp-api/docs/reports-api-v2021-06-30-reference#getreportdocument
        """
        operation = "Reports.getReportDocument"
        path = f"{REPORTS}/documents/{_segment(report_document_id)}"
        token = None
        if restricted:
            token = self.create_restricted_data_token(path=path, method="GET").token
        body = self._json(operation, "GET", path, token=token)
        return _parse(operation, lambda: ReportDocument.from_api(body))

    def download_document(self, document: ReportDocument) -> DownloadedDocument:
        """Download a report document from its presigned URL, without the access token.

        Streams with a size cap (``max_document_bytes``, compressed and uncompressed),
        gunzips when ``compressionAlgorithm`` is ``GZIP`` and takes the charset label from the
        response's Content-Type. Read-only. Raises ``DocumentUrlExpired`` on 403 (call
        ``get_report_document`` again for a fresh URL), ``DocumentCorrupt`` for a truncated
        or damaged gzip stream, ``DocumentTooLarge`` above the cap, and
        ``SpApiTransientError`` for timeouts, 5xx and interrupted downloads.
        """
        response = self._request(
            DOWNLOAD_DOCUMENT, "GET", urlsplit(document.url).path, presigned_url=document.url
        )
        try:
            raw = self._read_capped(response)
        finally:
            response.close()
        media_type, charset = _content_type(response.headers.get("Content-Type"))
        # Read unencoded from the wire, so an HTTP Content-Encoding: gzip (sent when
        # enableContentEncodingUrlHeader is set) is the same single gzip layer, undone once.
        compressed = document.compression_algorithm == "GZIP" or (
            response.headers.get("Content-Encoding", "").strip().lower() == "gzip"
        )
        content = gunzip(raw, max_bytes=self._max_document_bytes) if compressed else raw
        return DownloadedDocument(
            raw=raw, content=content, charset=charset, content_type=media_type
        )

    # Tokens API 2021-03-01

    def create_restricted_data_token(
        self, *, path: str, method: str = "GET", data_elements: Sequence[str] | None = None
    ) -> RestrictedDataToken:
        """Tokens API ``createRestrictedDataToken`` for one resource (method + exact path).

        Use the specific path (``/reports/2021-06-30/documents/<id>``), not a template. No
        side effects at Amazon, so safe to repeat.
        Reference: https://developer-docs.amazon.com/sp-api/docs/tokens-api-v2021-03-01-reference#createrestricteddatatoken
        """
        if not path.startswith("/"):
            raise ValueError("the restricted path must start with '/'")
        resource: dict[str, Any] = {"method": method.upper(), "path": path}
        if data_elements:
            resource["dataElements"] = _string_list("data_elements", data_elements)
        operation = "Tokens.createRestrictedDataToken"
        body = self._json(
            operation,
            "POST",
            "/tokens/2021-03-01/restrictedDataToken",
            json={"restrictedResources": [resource]},
        )
        return _parse(
            operation,
            lambda: RestrictedDataToken(
                token=_required_str(body, "restrictedDataToken"),
                expires_in=int(body["expiresIn"]),
            ),
        )

    # Notifications API v1

    def get_destinations(self) -> list[Destination]:
        """Notifications API ``getDestinations``: every destination of the app. Grantless.

        Read-only.
        Reference: https://developer-docs.amazon.com/sp-api/docs/notifications-api-v1-reference#getdestinations
        """
        operation = "Notifications.getDestinations"
        body = self._json(operation, "GET", f"{NOTIFICATIONS}/destinations", grantless=True)
        return _parse(operation, lambda: [Destination.from_api(d) for d in body["payload"]])

    def create_destination(self, *, name: str, sqs_arn: str) -> Destination:
        """Notifications API ``createDestination`` for an SQS queue. Grantless.

        Not idempotent: Amazon refuses a second destination for the same queue (409
        ``SpApiRequestError``), so a caller that lost the answer looks the destination up with
        ``get_destinations`` instead of calling again.
        Reference: https://developer-docs.amazon.com/sp-api/docs/notifications-api-v1-reference#createdestination
        """
        if not sqs_arn.startswith("arn:aws:sqs:"):
            raise ValueError("sqs_arn must be an SQS queue ARN (arn:aws:sqs:<region>:<id>:<name>)")
        operation = "Notifications.createDestination"
        answer = self._json(
            operation,
            "POST",
            f"{NOTIFICATIONS}/destinations",
            json={"name": name, "resourceSpecification": {"sqs": {"arn": sqs_arn}}},
            idempotent=False,
            grantless=True,
        )
        return _parse(operation, lambda: Destination.from_api(answer["payload"]))

    def get_subscription(self, notification_type: str) -> Subscription | None:
        """Notifications API ``getSubscription``: the seller's subscription to the type, or
        None when there is none (Amazon answers 404). Read-only.
        Reference: https://developer-docs.amazon.com/sp-api/docs/notifications-api-v1-reference#getsubscription
        """
        operation = "Notifications.getSubscription"
        path = f"{NOTIFICATIONS}/subscriptions/{_segment(notification_type)}"
        try:
            body = self._json(operation, "GET", path)
        except SpApiRequestError as error:
            if error.status == 404:
                return None
            raise
        return _parse(operation, lambda: Subscription.from_api(body["payload"]))

    def create_subscription(
        self,
        notification_type: str,
        *,
        destination_id: str,
        payload_version: str = DEFAULT_PAYLOAD_VERSION,
    ) -> Subscription:
        """Notifications API ``createSubscription``: deliver the seller's notifications of the
        type to the destination. With the seller's authorization.

        Not idempotent: a second call for the same type answers 409 (``SpApiRequestError``);
        ``get_subscription`` tells what exists.
        Reference: https://developer-docs.amazon.com/sp-api/docs/notifications-api-v1-reference#createsubscription
        """
        operation = "Notifications.createSubscription"
        answer = self._json(
            operation,
            "POST",
            f"{NOTIFICATIONS}/subscriptions/{_segment(notification_type)}",
            json={"payloadVersion": payload_version, "destinationId": destination_id},
            idempotent=False,
        )
        return _parse(operation, lambda: Subscription.from_api(answer["payload"]))

    def delete_subscription_by_id(self, notification_type: str, subscription_id: str) -> None:
        """Notifications API ``deleteSubscriptionById``: Amazon stops sending the
        subscription's notifications. Grantless.
        Reference: https://developer-docs.amazon.com/sp-api/docs/notifications-api-v1-reference#deletesubscriptionbyid
        """
        path = (
            f"{NOTIFICATIONS}/subscriptions/{_segment(notification_type)}/"
            f"{_segment(subscription_id)}"
        )
        self._request("Notifications.deleteSubscriptionById", "DELETE", path, grantless=True)

    # The single choke point

    def _json(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        token: str | None = None,
        idempotent: bool = True,
        grantless: bool = False,
    ) -> dict[str, Any]:
        response = self._request(
            operation,
            method,
            path,
            params=params,
            json=json,
            token=token,
            idempotent=idempotent,
            grantless=grantless,
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise _unexpected(operation, response.status_code, "the answer is not a JSON object")
        return body

    def _request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        token: str | None = None,
        idempotent: bool = True,
        presigned_url: str | None = None,
        grantless: bool = False,
    ) -> requests.Response:
        """Send one logical call, with retries; return the 2xx response or raise.

        ``token`` replaces the access token (an RDT). ``presigned_url`` sends a plain GET to
        that URL instead (document downloads): no access token, no rate limiter, streamed,
        and a 403 means ``DocumentUrlExpired``. ``idempotent=False`` limits retries to
        failures that prove Amazon did nothing. ``grantless`` sends the app's grantless token
        instead of the seller's, and meters the call in the app's bucket.
        """
        token_provider = self._token_provider
        limiter_key = self._limiter_key
        if grantless:
            if self._grantless_token_provider is None:
                raise ValueError(f"{operation} is grantless: give the client a grantless token")
            token_provider = self._grantless_token_provider
            limiter_key = self._grantless_limiter_key
        limit = OPERATION_LIMITS.get(operation) if presigned_url is None else None
        waited = 0.0
        attempt = 0
        retries = 0  # backoff retries; the one token refresh does not count
        refreshed = False
        force_refresh = False
        while True:
            attempt += 1
            # The one retry with a fresh token skips the bucket: Amazon refused the call for its
            # token, and waiting for our own bucket there (or failing with a local rate limit)
            # would hide that the authorization is gone behind a rate-limit error.
            if self._rate_limiter is not None and limit is not None and not force_refresh:
                waited += self._acquire(
                    limiter_key, operation, limit, max_wait=self._max_wait - waited
                )
            if presigned_url is None:
                url = self._endpoint + path
                if token is not None:
                    access_token = token
                elif force_refresh:
                    access_token = token_provider(force_refresh=True)
                    force_refresh = False
                else:
                    access_token = token_provider()
                headers = self._api_headers(access_token, has_body=json is not None)
            else:
                url = presigned_url
                headers = self._document_headers()
            response, error, duration_ms = self._send(
                operation,
                method,
                url,
                params=params,
                json=json,
                headers=headers,
                stream=presigned_url is not None,
            )
            emit(
                make_record(
                    operation=operation,
                    method=method,
                    path=path,
                    response=response,
                    error=error,
                    duration_ms=duration_ms,
                    attempt=attempt,
                ),
                self._on_call,
            )
            if error is None:
                assert response is not None
                return response
            if response is not None:
                response.close()
            if (
                token is None
                and presigned_url is None
                and not refreshed
                and isinstance(error, SpApiAuthError)
                and error.is_expired_access_token
            ):
                # Our cached token died early (revoked or rotated): one fresh token, once.
                refreshed = force_refresh = True
                continue
            if not self._retryable(error, idempotent=idempotent, retries=retries):
                raise error
            retries += 1
            delay = self._backoff(retries, error)
            if waited + delay > self._max_wait:
                raise error
            self._sleep(delay)
            waited += delay

    def _api_headers(self, access_token: str, *, has_body: bool) -> dict[str, str | None]:
        headers: dict[str, str | None] = {
            "x-amz-access-token": access_token,
            "user-agent": self._user_agent,
            "accept": "application/json",
            # None removes a session default: SP-API wants no Authorization header at all.
            "authorization": None,
        }
        if has_body:
            headers["content-type"] = "application/json"
        return headers

    def _document_headers(self) -> dict[str, str | None]:
        return {
            "user-agent": self._user_agent,
            # The presigned URL is the credential; the seller's token must not go to S3.
            "x-amz-access-token": None,
            "authorization": None,
            # We gunzip ourselves; ask the host not to add an encoding of its own.
            "accept-encoding": "identity",
        }

    def _send(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        json: Any,
        headers: Mapping[str, str | None],
        stream: bool,
    ) -> tuple[requests.Response | None, SpApiError | None, int]:
        started = time.perf_counter()
        response: requests.Response | None = None
        error: SpApiError | None = None
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                json=json,
                headers=dict(headers),
                timeout=self._timeout,
                allow_redirects=False,
                stream=stream,
            )
        except requests.ConnectTimeout:
            error = _transient(operation, "ConnectTimeout", f"no connection in {self._timeout} s")
        except requests.Timeout:
            error = _transient(operation, "Timeout", f"no answer in {self._timeout} s")
        except requests.ConnectionError as exc:
            # Only the class name: the exception text can contain a presigned URL.
            error = _transient(operation, "ConnectionError", type(exc).__name__)
        except requests.RequestException as exc:
            error = SpApiError(operation=operation, code=type(exc).__name__)
        else:
            if not 200 <= response.status_code < 300:
                error = self._error_from(response, operation, stream)
        return response, error, round((time.perf_counter() - started) * 1000)

    def _error_from(
        self, response: requests.Response, operation: str, document: bool
    ) -> SpApiError:
        if document and response.status_code == 403:
            return DocumentUrlExpired(
                operation=operation,
                status=403,
                code="UrlExpired",
                message="the document host refused the presigned URL",
                request_id=response.headers.get("x-amz-request-id"),
            )
        limit = OPERATION_LIMITS.get(operation)
        default = 1.0 / limit.rate if limit is not None else DEFAULT_RETRY_AFTER
        return error_from_response(response, operation=operation, default_retry_after=default)

    def _acquire(self, key: str, operation: str, limit: RateLimit, *, max_wait: float) -> float:
        assert self._rate_limiter is not None
        try:
            return self._rate_limiter.acquire(key + operation, limit, max_wait=max(0.0, max_wait))
        except SpApiThrottled as exc:
            # Re-raise under the operation's name: the limiter only knows its key.
            raise SpApiThrottled(
                retry_after=exc.retry_after,
                operation=operation,
                code=exc.code or "LocalRateLimit",
                message=exc.message,
            ) from None

    def _retryable(self, error: SpApiError, *, idempotent: bool, retries: int) -> bool:
        if not isinstance(error, SpApiTransientError) or isinstance(error, DocumentUrlExpired):
            return False
        if retries >= self._max_retries:
            return False
        if idempotent:
            return True
        return error.status in _UNPROCESSED_STATUSES or error.code in _UNPROCESSED_CODES

    def _backoff(self, retry: int, error: SpApiError) -> float:
        # Exponential backoff with full jitter spreads retries of many workers apart.
        ceiling = min(self._backoff_cap, self._backoff_base * 2 ** (retry - 1))
        delay = self._random() * ceiling
        if isinstance(error, SpApiThrottled):
            # Amazon refills one token every 1/rate seconds; sooner is a certain second 429.
            delay = max(delay, error.retry_after)
        return delay

    def _read_capped(self, response: requests.Response) -> bytes:
        cap = self._max_document_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise _too_large(cap)
        chunks = bytearray()
        try:
            for chunk in response.raw.stream(_CHUNK, decode_content=False):
                chunks += chunk
                if len(chunks) > cap:
                    raise _too_large(cap)
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
            raise _transient(DOWNLOAD_DOCUMENT, "DownloadInterrupted", type(exc).__name__) from None
        return bytes(chunks)


def _segment(value: str) -> str:
    if not value:
        raise ValueError("an empty id cannot be part of a path")
    return quote(value, safe="")


def _string_list(name: str, value: Sequence[str]) -> list[str]:
    # A bare string is a Sequence[str] too, and would be sent letter by letter.
    if isinstance(value, str):
        raise TypeError(f"{name} must be a list of strings, not a string")
    return [str(item) for item in value]


def _joined(name: str, value: Sequence[str]) -> str:
    items = _string_list(name, value)
    if not items:
        raise ValueError(f"{name} must not be empty")
    return ",".join(items)


def _required_str(body: Mapping[str, Any], key: str) -> str:
    value = body[key]
    if not isinstance(value, str) or not value:
        raise ValueError(key)
    return value


def _parse(operation: str, build: Callable[[], Any]) -> Any:
    try:
        return build()
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _unexpected(
            operation, None, f"unexpected answer ({type(exc).__name__}: {exc})"
        ) from None


def _unexpected(operation: str, status: int | None, message: str) -> SpApiError:
    return SpApiError(
        operation=operation, status=status, code="UnexpectedResponse", message=message
    )


def _transient(operation: str, code: str, message: str) -> SpApiTransientError:
    return SpApiTransientError(operation=operation, code=code, message=message)


def _too_large(cap: int) -> SpApiError:
    return DocumentTooLarge(
        operation=DOWNLOAD_DOCUMENT, code="TooLarge", message=f"more than {cap} bytes"
    )


def _content_type(header: str | None) -> tuple[str, str | None]:
    """Split ``text/plain; charset=Cp1252`` into the media type and the charset label."""
    if not header:
        return "application/octet-stream", None
    media, *params = header.split(";")
    charset = None
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'") or None
    return media.strip().lower() or "application/octet-stream", charset
