"""Tables of the media service: photos, their tags, activity labels, uploads and the audit log."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

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
    func,
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


class PhotoStatus(enum.StrEnum):
    PROCESSING = "processing"
    """Uploaded; the derivatives are not made yet."""
    READY = "ready"
    """Processed; shown to callers that pass the visibility check."""
    FAILED = "failed"
    """Processing rejected the file, for the reason in `failure_code`."""
    DELETED = "deleted"
    """Deleted by staff; the objects are gone from storage."""


class AuditAction(enum.StrEnum):
    UPLOAD = "upload"
    VIEW = "view"
    """A photo was shown (URLs to its thumbnail and screen size were issued)."""
    DOWNLOAD = "download"
    """The original was downloaded, alone or in a ZIP archive."""
    REFUSED = "refused"
    """A request for a photo or album was rejected, for the reason in `details`."""
    TAG = "tag"
    UNTAG = "untag"
    DELETE = "delete"


class Photo(Base):
    __tablename__ = "photos"
    __table_args__ = (Index("ix_photos_group_taken", "group_id", "taken_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    location_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    group_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    uploaded_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(20), default=PhotoStatus.PROCESSING)
    # Object key of the upload as received; deleted once the derivatives exist.
    upload_key: Mapped[str] = mapped_column(String(200), unique=True)
    # Prefix from storage.new_object_key; the variants live at "<prefix>/<variant>.jpg".
    key_prefix: Mapped[str] = mapped_column(String(200), unique=True)
    source_kind: Mapped[str | None] = mapped_column(String(10))
    original_filename: Mapped[str | None] = mapped_column(String(255))
    # Variant name to {"key", "width", "height", "bytes"}.
    variants: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    failure_code: Mapped[str | None] = mapped_column(String(40))
    processing_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    staff_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), default=list, server_default="{}")
    activity_label_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("activity_labels.id"))
    activity_text: Mapped[str | None] = mapped_column(String(200))
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # When processing was last queued; the retry timer queues photos again that stay processing.
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PhotoChild(Base):
    """A child tagged on a photo; an album is the photos of one child."""

    __tablename__ = "photo_children"

    photo_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    child_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, index=True)
    tagged_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tagged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ActivityLabel(Base):
    """An activity from the organisation's own list, such as "Buitenspelen" (outdoor play)."""

    __tablename__ = "activity_labels"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    name_nl: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PendingUpload(Base):
    """A presigned upload handed to a staff member, which only they may confirm, once."""

    __tablename__ = "pending_uploads"

    upload_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    content_type: Mapped[str] = mapped_column(String(50))
    max_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PhotoAudit(Base):
    """Audit entry of one action on a photo: view, download, refusal, tag change, upload or deletion."""

    __tablename__ = "photo_audit"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    action: Mapped[str] = mapped_column(String(20), index=True)
    # NULL for a refusal of an id that names no photo; details then hold the requested value.
    photo_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    account_kind: Mapped[str | None] = mapped_column(String(20))
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")


class OutboxMessage(OutboxMessageMixin, Base):
    pass


class HandledEvent(HandledEventMixin, Base):
    pass
