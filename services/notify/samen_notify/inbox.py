"""The in-app inbox: pages of notifications, unread count, read marks and the delivery log."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from sqlalchemy import select, update

from samen_common.auth import Caller
from samen_common.db import atomic
from samen_common.errors import InvalidInput, NotFound
from samen_common.timeutil import utcnow
from samen_notify import queries
from samen_notify.messages import notification_title
from samen_notify.models import DeliveryLogEntry, DigestItem, Notification

MAX_PAGE = 100


def encode_cursor(notification: Notification) -> str:
    raw = f"{notification.created_at.isoformat()}|{notification.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, _, notification_id = raw.partition("|")
        parsed = datetime.fromisoformat(created_at)
        if parsed.tzinfo is None:
            raise ValueError("cursor time has no zone")
        return parsed, uuid.UUID(notification_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("notify.invalid_cursor") from None


def _item(notification: Notification, language: str) -> dict:
    return {
        "id": str(notification.id),
        "subject": notification.subject,
        "title": notification_title(notification.subject, 1, notification.params.get("names", []), language,
                                    notification.params.get("state")),
        "item_id": notification.item_id,
        "child_ids": list(notification.child_ids),
        "created_at": notification.created_at.isoformat(),
        "read_at": notification.read_at.isoformat() if notification.read_at else None,
    }


def list_page(db, caller: Caller, language: str, limit: int = 20, cursor: str | None = None) -> dict:
    """Return the newest notifications before `cursor`, the unread count and the next cursor."""
    limit = max(1, min(int(limit or 20), MAX_PAGE))
    after = decode_cursor(cursor) if cursor else None
    account_id = uuid.UUID(caller.account_id)
    rows = queries.list_inbox(db, account_id, limit + 1, after)
    page = rows[:limit]
    return {
        "items": [_item(row, language) for row in page],
        "unread_count": queries.unread_count(db, account_id),
        "next_cursor": encode_cursor(page[-1]) if len(rows) > limit else None,
    }


def _own(db, caller: Caller, notification_id: str) -> Notification:
    try:
        key = uuid.UUID(str(notification_id))
    except ValueError:
        raise NotFound() from None
    notification = db.get(Notification, key)
    if notification is None or str(notification.account_id) != caller.account_id or notification.withdrawn_at:
        raise NotFound()
    return notification


def mark_read(db, caller: Caller, notification_id: str) -> dict:
    with atomic(db):
        notification = _own(db, caller, notification_id)
        if notification.read_at is None:
            notification.read_at = utcnow()
    return {"id": str(notification.id), "read_at": notification.read_at.isoformat(),
            "unread_count": queries.unread_count(db, notification.account_id)}


def mark_all_read(db, caller: Caller) -> dict:
    account_id = uuid.UUID(caller.account_id)
    with atomic(db):
        changed = db.execute(
            update(Notification)
            .where(Notification.account_id == account_id, Notification.read_at.is_(None))
            .values(read_at=utcnow())
            .returning(Notification.id)
        ).all()
    return {"marked": len(changed), "unread_count": 0}


def delivery_log(db, caller: Caller, notification_id: str) -> list[dict]:
    """Return every delivery step of the pushes and e-mails that carried this notification."""
    notification = _own(db, caller, notification_id)
    digest_ids = select(DigestItem.digest_id).where(DigestItem.notification_id == notification.id)
    rows = db.scalars(
        select(DeliveryLogEntry).where(DeliveryLogEntry.digest_id.in_(digest_ids)).order_by(DeliveryLogEntry.id)
    )
    return [
        {
            "occurred_at": row.occurred_at.isoformat(), "channel": row.channel, "delivery_id": str(row.delivery_id),
            "device_id": str(row.device_id) if row.device_id else None, "status": row.status, "reason": row.reason,
        }
        for row in rows
    ]
