"""Named queries of the notify service."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from samen_notify.models import (
    DeliveryLogEntry,
    Device,
    Digest,
    DigestItem,
    MailDelivery,
    Notification,
    Preference,
    PushDelivery,
    Recipient,
)


def upsert_recipients(session: Session, contacts: Iterable[dict]) -> None:
    """Insert or refresh recipients from `accounts.contacts` rows, keeping their quiet hours."""
    rows = [
        {
            "account_id": uuid.UUID(contact["id"]),
            "kind": contact.get("kind") or "guardian",
            "display_name": contact.get("display_name") or "",
            "email": contact.get("email"),
            "language": contact.get("language") or "nl",
        }
        for contact in contacts
    ]
    if not rows:
        return
    statement = insert(Recipient)
    statement = statement.on_conflict_do_update(
        index_elements=[Recipient.account_id],
        set_={
            "kind": statement.excluded.kind,
            "display_name": statement.excluded.display_name,
            "email": statement.excluded.email,
            "language": statement.excluded.language,
            "updated_at": func.now(),
        },
    )
    for start in range(0, len(rows), 1000):
        session.execute(statement, rows[start:start + 1000])


def recipient_or_default(session: Session, account_id: uuid.UUID) -> Recipient:
    recipient = session.get(Recipient, account_id)
    return recipient or Recipient(account_id=account_id)


def recipients_by_ids(session: Session, account_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Recipient]:
    ids = list(account_ids)
    result = {}
    for start in range(0, len(ids), 5000):
        for recipient in session.scalars(select(Recipient).where(Recipient.account_id.in_(ids[start:start + 5000]))):
            result[recipient.account_id] = recipient
    return result


def stored_preferences(session: Session, account_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict[tuple[str, str], bool]]:
    ids = list(account_ids)
    result: dict[uuid.UUID, dict[tuple[str, str], bool]] = {}
    for start in range(0, len(ids), 5000):
        rows = session.scalars(select(Preference).where(Preference.account_id.in_(ids[start:start + 5000])))
        for row in rows:
            result.setdefault(row.account_id, {})[(row.subject, row.channel)] = row.enabled
    return result


def upsert_preference(session: Session, account_id: uuid.UUID, subject: str, channel: str, enabled: bool) -> None:
    statement = insert(Preference).values(account_id=account_id, subject=subject, channel=channel, enabled=enabled)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[Preference.account_id, Preference.subject, Preference.channel],
            set_={"enabled": statement.excluded.enabled},
        )
    )


def insert_notifications(session: Session, rows: list[dict]) -> dict[uuid.UUID, uuid.UUID]:
    """Insert inbox items, skipping any that exist for the same event; return {account id: notification id}."""
    created: dict[uuid.UUID, uuid.UUID] = {}
    statement = (
        insert(Notification)
        .on_conflict_do_nothing(constraint="uq_notifications_source_event_id_account_id")
        .returning(Notification.account_id, Notification.id)
    )
    for start in range(0, len(rows), 1000):
        for account_id, notification_id in session.execute(statement, rows[start:start + 1000]):
            created[account_id] = notification_id
    return created


def add_to_open_digests(session: Session, rows: list[dict]) -> dict[uuid.UUID, uuid.UUID]:
    """Add one item to the open digest of each (account, subject, channel) row, opening one where none is.

    Each row has `account_id`, `subject`, `channel` and the `due_at` a new digest gets; an open
    digest keeps its own `due_at`. Returns {account id: digest id}.
    """
    digests: dict[uuid.UUID, uuid.UUID] = {}
    statement = insert(Digest)
    statement = statement.on_conflict_do_update(
        index_elements=[Digest.account_id, Digest.subject, Digest.channel],
        index_where=Digest.state == "open",
        set_={"item_count": Digest.item_count + 1},
    ).returning(Digest.account_id, Digest.id)
    for row in rows:
        row.setdefault("id", uuid.uuid4())
    # An upsert may not change one row twice, so the rows of one call must name distinct
    # (account, subject, channel) triples. One event has one row per account and channel.
    for start in range(0, len(rows), 1000):
        for account_id, digest_id in session.execute(statement, rows[start:start + 1000]):
            digests[account_id] = digest_id
    return digests


def insert_digest_items(session: Session, pairs: list[dict]) -> None:
    if pairs:
        session.execute(insert(DigestItem).on_conflict_do_nothing(), pairs)


def claim_due_digests(session: Session, now: datetime, limit: int, stale_after: timedelta) -> list[Digest]:
    """Mark due open digests (and ones a crashed worker left flushing) as flushing; return them."""
    due = (
        select(Digest.id)
        .where(
            or_(
                and_(Digest.state == "open", Digest.due_at <= now),
                and_(Digest.state == "flushing", Digest.flushed_at < now - stale_after),
            )
        )
        .order_by(Digest.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(
        session.scalars(
            update(Digest).where(Digest.id.in_(due)).values(state="flushing", flushed_at=now).returning(Digest)
        )
    )


def digest_notifications(session: Session, digest_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Notification]]:
    result: dict[uuid.UUID, list[Notification]] = {digest_id: [] for digest_id in digest_ids}
    rows = session.execute(
        select(DigestItem.digest_id, Notification)
        .join(Notification, Notification.id == DigestItem.notification_id)
        .where(DigestItem.digest_id.in_(digest_ids))
        .order_by(Notification.created_at)
    )
    for digest_id, notification in rows:
        result[digest_id].append(notification)
    return result


def devices_of_accounts(session: Session, account_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Device]]:
    ids = list(account_ids)
    result: dict[uuid.UUID, list[Device]] = {}
    for start in range(0, len(ids), 5000):
        for device in session.scalars(select(Device).where(Device.account_id.in_(ids[start:start + 5000]))):
            result.setdefault(device.account_id, []).append(device)
    return result


def insert_push_deliveries(session: Session, rows: list[dict]) -> list[PushDelivery]:
    if not rows:
        return []
    statement = (
        insert(PushDelivery)
        .on_conflict_do_nothing(constraint="uq_push_deliveries_digest_id_device_id")
        .returning(PushDelivery.id, PushDelivery.digest_id, PushDelivery.device_id, PushDelivery.account_id)
    )
    return list(session.execute(statement, rows))


def insert_mail_delivery(session: Session, row: dict):
    statement = (
        insert(MailDelivery)
        .values(**row)
        .on_conflict_do_nothing(constraint="uq_mail_deliveries_dedup_key")
        .returning(MailDelivery.id)
    )
    return session.execute(statement).scalar()


def claim_due_push(session: Session, now: datetime, limit: int) -> list[PushDelivery]:
    """Move due queued pushes to sending and count the attempt; FOR UPDATE SKIP LOCKED."""
    due = (
        select(PushDelivery.id)
        .where(PushDelivery.state == "queued", PushDelivery.next_attempt_at <= now)
        .order_by(PushDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(
        session.scalars(
            update(PushDelivery)
            .where(PushDelivery.id.in_(due))
            .values(state="sending", claimed_at=now, attempts=PushDelivery.attempts + 1)
            .returning(PushDelivery)
        )
    )


def claim_due_mail(session: Session, now: datetime, limit: int) -> list[MailDelivery]:
    due = (
        select(MailDelivery.id)
        .where(MailDelivery.state == "queued", MailDelivery.next_attempt_at <= now)
        .order_by(MailDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(
        session.scalars(
            update(MailDelivery)
            .where(MailDelivery.id.in_(due))
            .values(state="sending", claimed_at=now, attempts=MailDelivery.attempts + 1)
            .returning(MailDelivery)
        )
    )


def fail_stale_sending(session: Session, model, now: datetime, stale_after: timedelta) -> list:
    """Mark deliveries left in `sending` by a crashed worker as failed.

    They are not sent again: the provider may have accepted them before the crash, and a
    push or mail goes out at most once.
    """
    return list(
        session.execute(
            update(model)
            .where(model.state == "sending", model.claimed_at < now - stale_after)
            .values(state="failed", last_error="interrupted while sending; delivery unknown")
            .returning(model.id, model.account_id)
        )
    )


def insert_log(session: Session, entries: list[dict]) -> None:
    if entries:
        session.execute(insert(DeliveryLogEntry), entries)


def delete_device(session: Session, device_id: uuid.UUID) -> None:
    session.execute(delete(Device).where(Device.id == device_id))


def list_inbox(session: Session, account_id: uuid.UUID, limit: int, after: tuple[datetime, uuid.UUID] | None):
    query = (
        select(Notification)
        .where(Notification.account_id == account_id, Notification.withdrawn_at.is_(None))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    if after is not None:
        created_at, notification_id = after
        query = query.where(
            or_(
                Notification.created_at < created_at,
                and_(Notification.created_at == created_at, Notification.id < notification_id),
            )
        )
    return list(session.scalars(query))


def unread_count(session: Session, account_id: uuid.UUID) -> int:
    return session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.account_id == account_id, Notification.read_at.is_(None), Notification.withdrawn_at.is_(None))
    )
