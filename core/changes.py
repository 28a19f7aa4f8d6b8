"""The change log (`core.models.ChangeEvent`): writing events with their change, reading them
in commit order.

Writers call `record_changes` inside the transaction that makes the change (the import's batch,
a status change, an invoice issued): one INSERT per call, whatever the number of events, and one
query for the transaction id on PostgreSQL. Readers call `events_after` with the position of the
last event they saw.

Why (txid, id) and not id alone: on PostgreSQL event ids come from a sequence when rows are
inserted, so transaction A may take id 10 and commit after transaction B took id 11 and
committed. A reader that saw 11 and moved on by id would never see 10. Ordered by the writing
transaction's id instead, and only up to `pg_snapshot_xmin(pg_current_snapshot())` (every
transaction below it has ended, committed or not, and every new one gets a larger id), the
events a reader can be served form a set that never grows below the reader's position. On
SQLite writers take turns, so ids already follow commits; `txid` is 0 there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from core.models import ChangeEvent

# The order kinds a client can follow, and the events each has.
EVENT_TYPES = {
    "order": ("order.created", "order.updated", "order.cancelled"),
    "return": ("return.created", "return.updated"),
    "stock": ("stock.changed",),
    "invoice": ("invoice.issued", "invoice.updated", "invoice.cancelled"),
    # Not lists of the API's `/changes`: what webhooks announce besides (`api.delivery`).
    "account": ("account.status_changed",),
    "report": ("report.failed",),
}


@dataclass(frozen=True)
class Position:
    """Where a reader stands in the change log: after the event (txid, id)."""

    txid: int
    id: int

    @classmethod
    def start(cls) -> Position:
        return cls(txid=-1, id=0)


def _current_txid() -> int:
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        # Text then bigint: xid8 has no cast to bigint; epoch-extended, it never wraps.
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        return cursor.fetchone()[0]


def record_changes(
    *,
    kind: str,
    event_type: str,
    account_id: int,
    entity_ids: Iterable[int],
    now: datetime | None = None,
) -> int:
    """Record one event per entity id (duplicates once, in first-seen order), in the caller's
    transaction (its own when there is none, so an event never commits apart from its txid).
    Returns how many were written. Raises ValueError for an event type the kind does not have.
    """
    if event_type not in EVENT_TYPES.get(kind, ()):
        raise ValueError(f"{event_type!r} is not an event of {kind!r}")
    ids = list(dict.fromkeys(entity_ids))
    if not ids:
        return 0
    at = now or timezone.now()
    with transaction.atomic():
        txid = _current_txid()
        ChangeEvent.objects.bulk_create(
            [
                ChangeEvent(
                    txid=txid,
                    kind=kind,
                    event_type=event_type,
                    entity_id=entity_id,
                    account_id=account_id,
                    created_at=at,
                )
                for entity_id in ids
            ],
            batch_size=1000,
        )
    return len(ids)


def _servable(events: QuerySet[ChangeEvent]) -> QuerySet[ChangeEvent]:
    if connection.vendor == "postgresql":
        events = events.filter(
            txid__lt=RawSQL("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", [])
        )
    return events


def events_after(
    position: Position,
    *,
    kind: str,
    account_ids: Iterable[int] | None = None,
    event_types: Iterable[str] | None = None,
) -> QuerySet[ChangeEvent]:
    """The kind's events after `position` that may be served, in (txid, id) order.

    On PostgreSQL only those of transactions older than every transaction still running: the
    rest wait for the next read (a page ends before them). `account_ids` None: every account;
    `event_types` None: every event of the kind.
    """
    events = ChangeEvent.objects.filter(kind=kind).filter(
        Q(txid__gt=position.txid) | Q(txid=position.txid, id__gt=position.id)
    )
    if account_ids is not None:
        events = events.filter(account_id__in=list(account_ids))
    if event_types is not None:
        events = events.filter(event_type__in=list(event_types))
    return _servable(events).order_by("txid", "id")


def last_position() -> Position:
    """The position after every event that may be served now: a reader starting here sees
    only what comes later (and what transactions still running write)."""
    # A kind at a time, each read backwards along its index, rather than a sort of the table.
    lasts = [
        _servable(ChangeEvent.objects.filter(kind=kind)).order_by("-txid", "-id").first()
        for kind in EVENT_TYPES
    ]
    positions = [Position(txid=e.txid, id=e.pk) for e in lasts if e is not None]
    return max(positions, key=lambda p: (p.txid, p.id), default=Position.start())
