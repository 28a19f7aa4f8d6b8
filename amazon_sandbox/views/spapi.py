"""Selling Partner API: Sellers v1, Reports 2021-06-30 and Tokens 2021-03-01.

Each view parses and validates its request the way Amazon's model describes it, calls one
function of `reporting` or `authorization`, and shapes the answer as the model's response.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime, timedelta

from django.http import HttpRequest, HttpResponse

from amazon_sandbox import authorization, reporting
from amazon_sandbox.authorization import Caller
from amazon_sandbox.catalog import MARKETPLACES, REPORT_TYPES
from amazon_sandbox.errors import ApiError, invalid_input, unauthorized
from amazon_sandbox.models import AccessToken
from amazon_sandbox.reporting import PERIODS, Status
from amazon_sandbox.views.common import (
    empty_response,
    json_response,
    method_router,
    parse_time,
    query_list,
    read_json,
    spapi_operation,
)


def _missing(*names: str) -> ApiError:
    # Amazon's wording, with the missing names in details (e.g. `marketplaceIds;`).
    return invalid_input("One or more required parameters missing", "".join(f"{n};" for n in names))


@spapi_operation("getMarketplaceParticipations")
def marketplace_participations(
    request: HttpRequest, *, caller: Caller, now: datetime
) -> HttpResponse:
    seller = caller.seller
    payload = []
    for marketplace_id in seller.marketplace_ids:
        marketplace = MARKETPLACES[marketplace_id]
        payload.append(
            {
                "marketplace": {
                    "id": marketplace.id,
                    "name": marketplace.name,
                    "countryCode": marketplace.country_code,
                    "defaultCurrencyCode": marketplace.currency,
                    "defaultLanguageCode": marketplace.language,
                    "domainName": marketplace.domain,
                },
                "participation": {"isParticipating": True, "hasSuspendedListings": False},
                "storeName": seller.store_name,
            }
        )
    return json_response({"payload": payload})


def _string_list(body: dict, name: str, *, low: int, high: int) -> list[str]:
    value = body.get(name)
    if value is None:
        raise _missing(name)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise invalid_input(f"{name} must be an array of strings.")
    if not low <= len(value) <= high:
        raise invalid_input(f"{name} must contain between {low} and {high} items.")
    return value


def _report_options(body: dict) -> dict[str, str]:
    options = body.get("reportOptions") or {}
    if not isinstance(options, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in options.items()
    ):
        raise invalid_input("reportOptions must be an object of string values.")
    return options


_GET_REPORTS_PARAMS = frozenset(
    {
        "reportTypes",
        "processingStatuses",
        "marketplaceIds",
        "pageSize",
        "createdSince",
        "createdUntil",
    }
)


def _encode_token(query: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(query).encode()).decode()


def _decode_token(token: str) -> dict:
    try:
        query = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error) as e:
        raise invalid_input("The nextToken is invalid.") from e
    if not isinstance(query, dict) or "offset" not in query:
        raise invalid_input("The nextToken is invalid.")
    return query


def _reports_query(request: HttpRequest, *, now: datetime) -> dict:
    """getReports' query as a normalised dict (also what a nextToken carries)."""
    params = set(request.GET)
    if "nextToken" in params:
        if params - {"nextToken"}:
            raise invalid_input(
                "nextToken must be the only parameter when it is provided.",
                ";".join(sorted(params - {"nextToken"})) + ";",
            )
        return _decode_token(request.GET["nextToken"])
    report_types = query_list(request, "reportTypes")
    if not report_types:
        raise _missing("reportTypes")
    if len(report_types) > 10:
        raise invalid_input("reportTypes must contain between 1 and 10 items.")
    statuses = query_list(request, "processingStatuses")
    if "processingStatuses" in params and not statuses:
        raise invalid_input("processingStatuses must contain at least 1 item.")
    bad = [s for s in statuses if s not in Status.ALL]
    if bad:
        raise invalid_input(f"Invalid processingStatuses: {', '.join(bad)}.")
    marketplace_ids = query_list(request, "marketplaceIds")
    if "marketplaceIds" in params and not 1 <= len(marketplace_ids) <= 10:
        raise invalid_input("marketplaceIds must contain between 1 and 10 items.")
    try:
        page_size = int(request.GET.get("pageSize", "10"))
    except ValueError:
        page_size = 0
    if not 1 <= page_size <= 100:
        raise invalid_input("pageSize must be between 1 and 100.")
    created_since = parse_time(request.GET.get("createdSince"), "createdSince")
    created_until = parse_time(request.GET.get("createdUntil"), "createdUntil") or now
    oldest = now - reporting.RETENTION
    if created_since is None:
        created_since = oldest
    elif created_since < oldest - timedelta(minutes=1):
        raise invalid_input("createdSince must not be more than 90 days ago.")
    if created_since > created_until:
        raise invalid_input("createdSince must be before createdUntil.")
    return {
        "reportTypes": report_types,
        "processingStatuses": statuses,
        "marketplaceIds": marketplace_ids,
        "pageSize": page_size,
        "createdSince": created_since.isoformat(),
        # Pinned, so that later pages do not shift when new reports arrive.
        "createdUntil": created_until.isoformat(),
        "offset": 0,
    }


@spapi_operation("getReports")
def get_reports(request: HttpRequest, *, caller: Caller, now: datetime) -> HttpResponse:
    query = _reports_query(request, now=now)
    try:
        states = reporting.list_reports(
            caller.seller,
            report_types=query["reportTypes"],
            statuses=query["processingStatuses"],
            marketplace_ids=query["marketplaceIds"],
            created_since=datetime.fromisoformat(query["createdSince"]),
            created_until=datetime.fromisoformat(query["createdUntil"]),
            now=now,
        )
        offset, size = int(query["offset"]), int(query["pageSize"])
    except (KeyError, TypeError, ValueError) as e:
        raise invalid_input("The nextToken is invalid.") from e
    body: dict = {"reports": [s.as_json() for s in states[offset : offset + size]]}
    if len(states) > offset + size:
        body["nextToken"] = _encode_token({**query, "offset": offset + size})
    return json_response(body)


@spapi_operation("createReport")
def create_report(request: HttpRequest, *, caller: Caller, now: datetime) -> HttpResponse:
    body = read_json(request)
    missing = [n for n in ("reportType", "marketplaceIds") if body.get(n) in (None, "")]
    if missing:
        raise _missing(*missing)
    report_type = body["reportType"]
    if not isinstance(report_type, str):
        raise invalid_input("reportType must be a string.")
    marketplace_ids = _string_list(body, "marketplaceIds", low=1, high=25)
    options = _report_options(body)
    mids, start, end = reporting.validate_report_request(
        caller.seller,
        report_type=report_type,
        marketplace_ids=marketplace_ids,
        data_start=parse_time(body.get("dataStartTime"), "dataStartTime"),
        data_end=parse_time(body.get("dataEndTime"), "dataEndTime"),
        now=now,
    )
    report = reporting.create_report(
        caller.seller,
        report_type=report_type,
        marketplace_ids=mids,
        data_start=start,
        data_end=end,
        report_options=options,
        created_at=now,
    )
    return json_response({"reportId": report.report_id}, status=202)


@spapi_operation("getReport")
def get_report(
    request: HttpRequest, *, caller: Caller, now: datetime, report_id: str
) -> HttpResponse:
    reporting.materialize_schedules(caller.seller, now=now)
    report = reporting.report_for(caller.seller, report_id)
    return json_response(reporting.observe(report, seller=caller.seller, now=now).as_json())


@spapi_operation("cancelReport")
def cancel_report(
    request: HttpRequest, *, caller: Caller, now: datetime, report_id: str
) -> HttpResponse:
    report = reporting.report_for(caller.seller, report_id)
    reporting.cancel_report(report, seller=caller.seller, now=now)
    return empty_response()


@spapi_operation("getReportSchedules")
def get_report_schedules(request: HttpRequest, *, caller: Caller, now: datetime) -> HttpResponse:
    report_types = query_list(request, "reportTypes")
    if not report_types:
        raise _missing("reportTypes")
    if len(report_types) > 10:
        raise invalid_input("reportTypes must contain between 1 and 10 items.")
    reporting.materialize_schedules(caller.seller, now=now)
    schedules = reporting.ReportSchedule.objects.filter(
        selling_partner_id=caller.seller.selling_partner_id,
        region=caller.seller.region,
        report_type__in=report_types,
        cancelled_at__isnull=True,
    ).order_by("pk")
    return json_response({"reportSchedules": [reporting.schedule_json(s) for s in schedules]})


@spapi_operation("createReportSchedule")
def create_report_schedule(request: HttpRequest, *, caller: Caller, now: datetime) -> HttpResponse:
    body = read_json(request)
    missing = [n for n in ("reportType", "marketplaceIds", "period") if body.get(n) in (None, "")]
    if missing:
        raise _missing(*missing)
    report_type, period = body["reportType"], body["period"]
    if not isinstance(report_type, str):
        raise invalid_input("reportType must be a string.")
    if period not in PERIODS:
        raise invalid_input(f"Invalid period: {period}.")
    marketplace_ids = _string_list(body, "marketplaceIds", low=1, high=25)
    options = _report_options(body)
    mids, _, _ = reporting.validate_report_request(
        caller.seller,
        report_type=report_type,
        marketplace_ids=marketplace_ids,
        data_start=None,
        data_end=None,
        now=now,
        scheduled=True,
    )
    schedule = reporting.create_schedule(
        caller.seller,
        report_type=report_type,
        marketplace_ids=mids,
        period=period,
        report_options=options,
        next_creation=parse_time(body.get("nextReportCreationTime"), "nextReportCreationTime"),
        now=now,
    )
    return json_response({"reportScheduleId": schedule.schedule_id}, status=201)


@spapi_operation("getReportSchedule")
def get_report_schedule(
    request: HttpRequest, *, caller: Caller, now: datetime, schedule_id: str
) -> HttpResponse:
    reporting.materialize_schedules(caller.seller, now=now)
    schedule = reporting.schedule_for(caller.seller, schedule_id)
    return json_response(reporting.schedule_json(schedule))


@spapi_operation("cancelReportSchedule")
def cancel_report_schedule(
    request: HttpRequest, *, caller: Caller, now: datetime, schedule_id: str
) -> HttpResponse:
    schedule = reporting.schedule_for(caller.seller, schedule_id)
    schedule.cancelled_at = now
    schedule.save(update_fields=["cancelled_at"])
    return empty_response()


@spapi_operation("getReportDocument")
def get_report_document(
    request: HttpRequest, *, caller: Caller, now: datetime, document_id: str
) -> HttpResponse:
    document = reporting.document_for(caller.seller, document_id)
    spec = REPORT_TYPES.get(document.report_type)
    # Restricted (PII) documents need a Restricted Data Token naming this exact path; the RDT
    # itself was already checked against the path when the caller was authenticated.
    if spec and spec.restricted and caller.token.kind != AccessToken.Kind.RESTRICTED:
        raise unauthorized("")
    url = reporting.document_url(
        document,
        base_url=request.build_absolute_uri("/"),
        content_encoding_header=request.GET.get("enableContentEncodingUrlHeader") == "true",
        now=now,
    )
    return json_response(
        {"reportDocumentId": document.document_id, "url": url, "compressionAlgorithm": "GZIP"}
    )


# Only report documents are restricted resources the sandbox serves; a generic path with a
# `{reportDocumentId}` placeholder is refused, as Amazon requires a specific one.
_RESTRICTED_PATH = re.compile(r"^/reports/2021-06-30/documents/[A-Za-z0-9.\-_]+$")


@spapi_operation("createRestrictedDataToken")
def restricted_data_token(request: HttpRequest, *, caller: Caller, now: datetime) -> HttpResponse:
    body = read_json(request)
    resources = body.get("restrictedResources")
    if resources in (None, []):
        raise _missing("restrictedResources")
    if not isinstance(resources, list) or len(resources) > 50:
        raise invalid_input("restrictedResources must be an array of at most 50 items.")
    if caller.token.kind != AccessToken.Kind.SELLER:
        raise unauthorized("")
    pairs = []
    for resource in resources:
        if not isinstance(resource, dict):
            raise invalid_input("Each restricted resource must be an object.")
        method, path = resource.get("method"), resource.get("path")
        if method not in ("GET", "PUT", "POST", "DELETE") or not isinstance(path, str):
            raise invalid_input("Each restricted resource needs a method and a path.")
        if method != "GET" or not _RESTRICTED_PATH.match(path):
            raise invalid_input(
                f"Invalid restricted resource: {method} {path}. "
                "Specify a report document path such as "
                "/reports/2021-06-30/documents/<reportDocumentId>.",
            )
        pairs.append((method, path))
    token = authorization.restricted_data_token(caller=caller, resources=pairs)
    expires_in = int((token.expires_at - token.issued_at).total_seconds())
    return json_response({"restrictedDataToken": token.token, "expiresIn": expires_in})


reports_collection = method_router(get=get_reports, post=create_report)
report_item = method_router(get=get_report, delete=cancel_report)
schedules_collection = method_router(get=get_report_schedules, post=create_report_schedule)
schedule_item = method_router(get=get_report_schedule, delete=cancel_report_schedule)
participations = method_router(get=marketplace_participations)
document_item = method_router(get=get_report_document)
restricted_data_tokens = method_router(post=restricted_data_token)
