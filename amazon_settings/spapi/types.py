"""Frozen values the client returns, parsed from Amazon's JSON at the boundary.

Every datetime is aware and in UTC. ``from_api`` constructors raise ``KeyError``,
``TypeError`` or ``ValueError`` on a payload that does not match Amazon's model; the client
turns those into ``SpApiError`` (code ``UnexpectedResponse``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit


def parse_datetime(value: str) -> datetime:
    """Parse Amazon's ISO 8601 timestamps (``+00:00`` or ``Z``, with or without millis) to UTC.

    A timestamp without offset is taken as UTC: Amazon documents all of them as UTC.
    """
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _optional_datetime(value: Any) -> datetime | None:
    return parse_datetime(value) if value else None


def format_datetime(value: datetime) -> str:
    """ISO 8601 in UTC with ``Z``, as Amazon expects; naive datetimes are refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: pass an aware datetime (UTC)")
    value = value.astimezone(UTC)
    timespec = "milliseconds" if value.microsecond else "seconds"
    return value.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise TypeError("expected a list")
    return tuple(str(item) for item in value)


def _options(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError("expected an object")
    return {str(k): str(v) for k, v in value.items()}


@dataclass(frozen=True)
class MarketplaceParticipation:
    """One marketplace the seller can sell in (Sellers API ``MarketplaceParticipation``)."""

    marketplace_id: str
    country_code: str
    name: str
    currency: str
    language: str
    domain: str
    is_participating: bool
    has_suspended_listings: bool
    # Newer models require storeName; older answers lack it.
    store_name: str | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> MarketplaceParticipation:
        marketplace = data["marketplace"]
        participation = data["participation"]
        return cls(
            marketplace_id=marketplace["id"],
            country_code=marketplace["countryCode"],
            name=marketplace["name"],
            currency=marketplace["defaultCurrencyCode"],
            language=marketplace["defaultLanguageCode"],
            domain=marketplace["domainName"],
            is_participating=bool(participation["isParticipating"]),
            has_suspended_listings=bool(participation["hasSuspendedListings"]),
            store_name=data.get("storeName"),
        )


@dataclass(frozen=True)
class Report:
    """A report request as Amazon sees it (Reports API 2021-06-30 ``Report``)."""

    report_id: str
    report_type: str
    processing_status: str
    created_time: datetime
    marketplace_ids: tuple[str, ...] = ()
    data_start_time: datetime | None = None
    data_end_time: datetime | None = None
    report_schedule_id: str | None = None
    processing_start_time: datetime | None = None
    processing_end_time: datetime | None = None
    report_document_id: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Report:
        return cls(
            report_id=data["reportId"],
            report_type=data["reportType"],
            processing_status=data["processingStatus"],
            created_time=parse_datetime(data["createdTime"]),
            marketplace_ids=_strings(data.get("marketplaceIds")),
            data_start_time=_optional_datetime(data.get("dataStartTime")),
            data_end_time=_optional_datetime(data.get("dataEndTime")),
            report_schedule_id=data.get("reportScheduleId"),
            processing_start_time=_optional_datetime(data.get("processingStartTime")),
            processing_end_time=_optional_datetime(data.get("processingEndTime")),
            report_document_id=data.get("reportDocumentId"),
        )


@dataclass(frozen=True)
class ReportPage:
    """One page of getReports; ``next_token`` is None on the last page."""

    reports: tuple[Report, ...]
    next_token: str | None


@dataclass(frozen=True)
class ReportSchedule:
    """A report schedule (Reports API 2021-06-30 ``ReportSchedule``)."""

    report_schedule_id: str
    report_type: str
    period: str
    marketplace_ids: tuple[str, ...] = ()
    report_options: dict[str, str] = field(default_factory=dict)
    next_report_creation_time: datetime | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ReportSchedule:
        return cls(
            report_schedule_id=data["reportScheduleId"],
            report_type=data["reportType"],
            period=data["period"],
            marketplace_ids=_strings(data.get("marketplaceIds")),
            report_options=_options(data.get("reportOptions")),
            next_report_creation_time=_optional_datetime(data.get("nextReportCreationTime")),
        )


@dataclass(frozen=True)
class ReportDocument:
    """Where to download a report document. The URL is presigned and dies after 5 minutes,
    so never store it: call getReportDocument right before each download."""

    report_document_id: str
    url: str
    compression_algorithm: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ReportDocument:
        return cls(
            report_document_id=data["reportDocumentId"],
            url=data["url"],
            compression_algorithm=data.get("compressionAlgorithm"),
        )

    def __repr__(self) -> str:
        # The query string is a signature that grants access to the document: keep it out.
        parts = urlsplit(self.url)
        return (
            f"ReportDocument(report_document_id={self.report_document_id!r}, "
            f"url='{parts.scheme}://{parts.netloc}{parts.path}?…', "
            f"compression_algorithm={self.compression_algorithm!r})"
        )


@dataclass(frozen=True)
class Destination:
    """Where Amazon delivers notifications (Notifications API v1 ``Destination``).

    ``sqs_arn`` is the queue's ARN; None for a destination of another kind (EventBridge).
    """

    destination_id: str
    name: str
    sqs_arn: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Destination:
        resource = data["resource"]
        if not isinstance(resource, dict):
            raise TypeError("resource must be an object")
        sqs = resource.get("sqs")
        return cls(
            destination_id=data["destinationId"],
            name=data["name"],
            sqs_arn=sqs["arn"] if isinstance(sqs, dict) else None,
        )


@dataclass(frozen=True)
class Subscription:
    """A seller's subscription to one notification type (Notifications API v1
    ``Subscription``)."""

    subscription_id: str
    payload_version: str
    destination_id: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Subscription:
        return cls(
            subscription_id=data["subscriptionId"],
            payload_version=data["payloadVersion"],
            destination_id=data["destinationId"],
        )


@dataclass(frozen=True, repr=False)
class DownloadedDocument:
    """A downloaded report document: ``raw`` as sent, ``content`` after gunzip.

    ``charset`` is the label from the response's Content-Type as Amazon wrote it (e.g.
    ``Cp1252``); pass it to ``decode_document``. ``content_type`` is the media type alone.
    """

    raw: bytes
    content: bytes
    charset: str | None
    content_type: str

    def __repr__(self) -> str:
        # The bytes are buyer data: show sizes only.
        return (
            f"DownloadedDocument(raw=<{len(self.raw)} bytes>, "
            f"content=<{len(self.content)} bytes>, charset={self.charset!r}, "
            f"content_type={self.content_type!r})"
        )


@dataclass(frozen=True, repr=False)
class RestrictedDataToken:
    """A Restricted Data Token for the exact resources it was requested for."""

    token: str
    expires_in: int

    def __repr__(self) -> str:
        return f"RestrictedDataToken(token=<hidden>, expires_in={self.expires_in})"


@dataclass(frozen=True, repr=False)
class AccessToken:
    """An LWA access token (lives one hour) and when it expires (aware UTC)."""

    value: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"AccessToken(value=<hidden>, expires_at={self.expires_at.isoformat()})"


@dataclass(frozen=True, repr=False)
class TokenGrant:
    """What LWA returns for an authorisation code: an access token and the refresh token."""

    access_token: str
    refresh_token: str
    expires_at: datetime

    def __repr__(self) -> str:
        return (
            "TokenGrant(access_token=<hidden>, refresh_token=<hidden>, "
            f"expires_at={self.expires_at.isoformat()})"
        )


@dataclass(frozen=True)
class CallRecord:
    """One attempt of one call, for the "Data exchange » Log".

    Only facts about the exchange: never a token, never a response body (buyer data), never a
    query string (presigned URLs carry signatures). ``status`` is None when no response came.
    """

    operation: str
    method: str
    path: str
    status: int | None
    duration_ms: int
    request_id: str | None
    rate_limit: float | None
    error_code: str
    error_message: str
    attempt: int
