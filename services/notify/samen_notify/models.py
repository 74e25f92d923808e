"""Tables of the notify service."""

from __future__ import annotations

import uuid
from datetime import datetime, time

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from samen_common.outbox import HandledEventMixin, OutboxMessageMixin

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _uuid() -> uuid.UUID:
    return uuid.uuid4()


class Recipient(Base):
    """Contact details of an account, copied from accounts, and the account's quiet hours.

    A row is refreshed from `accounts.contacts` whenever a notification is planned for the
    account, and its language from `account_language_changed`.
    """

    __tablename__ = "recipients"

    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="guardian", server_default="guardian")
    display_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    email: Mapped[str | None] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(5), default="nl", server_default="nl")
    # The address whose mail server rejected it permanently (SMTP 5xx on RCPT). Only non-account
    # mail is held back, and only while `email` is still this address.
    bouncing_email: Mapped[str | None] = mapped_column(String(320))
    bounced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    quiet_hours_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    quiet_start: Mapped[time] = mapped_column(Time, default=time(21, 0), server_default="21:00")
    quiet_end: Mapped[time] = mapped_column(Time, default=time(7, 0), server_default="07:00")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Preference(Base):
    """One switch: does `subject` reach the account through `channel`. Missing rows use the defaults."""

    __tablename__ = "preferences"

    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    subject: Mapped[str] = mapped_column(String(20), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)


class Device(Base):
    """A phone or tablet with an FCM registration token; a token belongs to one account at a time."""

    __tablename__ = "devices"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    token: Mapped[str] = mapped_column(String(4096), unique=True)
    platform: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Notification(Base):
    """One item of an account's in-app inbox; texts are rendered when read, in the reader's language."""

    __tablename__ = "notifications"
    __table_args__ = (
        # One inbox item per event and account, also when a handler's claim was lost.
        UniqueConstraint("source_event_id", "account_id", name="uq_notifications_source_event_id_account_id"),
        Index("ix_notifications_account_id_created_at_id", "account_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    subject: Mapped[str] = mapped_column(String(20))
    source_event_id: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[str | None] = mapped_column(String(64))
    child_ids: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list, server_default="{}")
    # Parameters of the subject's texts (child first names, request state): no content.
    params: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when a photo's consent was withdrawn before the push went out; hidden from the inbox.
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Digest(Base):
    """Notifications of one subject for one account and channel, sent together as one push or e-mail.

    A digest is `open` from its first notification until `due_at` (the digest window, then the
    end of quiet hours for pushes), `flushing` while a worker plans its deliveries, then `flushed`
    or `cancelled` (nothing left to send).
    """

    __tablename__ = "digests"
    __table_args__ = (
        Index(
            "uq_digests_open_account_subject_channel", "account_id", "subject", "channel",
            unique=True, postgresql_where=text("state = 'open'"),
        ),
        Index("ix_digests_state_due_at", "state", "due_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    subject: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(12), default="open", server_default="open")
    item_count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    flushed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DigestItem(Base):
    """A notification that belongs to a digest (one push digest and one e-mail digest at most)."""

    __tablename__ = "digest_items"

    digest_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True)
    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class PushDelivery(Base):
    """One push of one digest to one device: queued → sending → sent, or failed.

    The unique (digest, device) pair and the state machine make a push go out at most once per
    device, also when an event or a flush runs twice.
    """

    __tablename__ = "push_deliveries"
    __table_args__ = (
        UniqueConstraint("digest_id", "device_id", name="uq_push_deliveries_digest_id_device_id"),
        Index("ix_push_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    digest_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"))
    device_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    state: Mapped[str] = mapped_column(String(10), default="queued", server_default="queued")
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    # Children of a photo push: each must still have photo consent when the push is sent.
    consent_child_ids: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list, server_default="{}")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MailDelivery(Base):
    """One e-mail: queued → sending → sent, or failed.

    Account mail (`sensitive`) carries a password-reset link, so its rendered bodies are cleared
    once the mail is sent or has failed for good.
    """

    __tablename__ = "mail_deliveries"
    __table_args__ = (
        UniqueConstraint("dedup_key", name="uq_mail_deliveries_dedup_key"),
        Index("ix_mail_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    # "<event id>:<account id>" for account mail, "digest:<digest id>" for a digest.
    dedup_key: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    digest_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    subject: Mapped[str] = mapped_column(String(20))
    template: Mapped[str] = mapped_column(String(60))
    to_address: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(5))
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    mail_subject: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="queued", server_default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DeliveryLogEntry(Base):
    """One step of a push or e-mail delivery: queued, sent, retried, failed (with the reason)."""

    __tablename__ = "delivery_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    channel: Mapped[str] = mapped_column(String(10))
    delivery_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    digest_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    device_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(OutboxMessageMixin, Base):
    pass


class HandledEvent(HandledEventMixin, Base):
    pass
