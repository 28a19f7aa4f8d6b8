"""Opaque cursors: base64url of a small tagged text, so a client stores and returns them as
they are, and one from another list or a typo is refused with the parameter named."""

from __future__ import annotations

import base64
import binascii

from api.exceptions import BadParameter
from core.changes import Position

_PAGE, _CHANGES = "p1", "c1"


def _encode(*parts: object) -> str:
    return base64.urlsafe_b64encode(":".join(map(str, parts)).encode()).decode().rstrip("=")


def _decode(cursor: str, *, field: str, tag: str, kind: str, count: int) -> list[int]:
    message = f"Malformed cursor: pass back a `{field}` this list returned, unchanged."
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadParameter(message, field=field) from None
    parts = text.split(":")
    if len(parts) != count + 2 or parts[0] != tag:
        raise BadParameter(message, field=field)
    if parts[1] != kind:
        raise BadParameter(
            f"This cursor belongs to the {parts[1]} list, not to the {kind} list.", field=field
        )
    try:
        return [int(part) for part in parts[2:]]
    except ValueError:
        raise BadParameter(message, field=field) from None


def page_cursor(kind: str, last_id: int) -> str:
    return _encode(_PAGE, kind, last_id)


def read_page_cursor(cursor: str, *, kind: str, field: str = "cursor") -> int:
    """The last id of the previous page."""
    return _decode(cursor, field=field, tag=_PAGE, kind=kind, count=1)[0]


def changes_cursor(kind: str, position: Position) -> str:
    return _encode(_CHANGES, kind, position.txid, position.id)


def read_changes_cursor(cursor: str, *, kind: str, field: str = "since") -> Position:
    txid, event_id = _decode(cursor, field=field, tag=_CHANGES, kind=kind, count=2)
    return Position(txid=txid, id=event_id)
