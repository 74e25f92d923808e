"""Tables of the messaging service: threads, notebook, news, documents and the guardian timeline."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
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


class Thread(Base):
    """The conversation about one child with the staff of one group.

    Every guardian of the child shares the thread, and guardians of other children never see it.
    """

    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("child_id", "group_id", name="uq_threads_child_group"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    child_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    group_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_message_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_thread_created", "thread_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # "guardian" or "staff" (samen_common.auth.AccountKind).
    author_kind: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    photo_ids: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MessageRead(Base):
    """A read receipt: who read a message (a guardian or a staff member) and when."""

    __tablename__ = "message_reads"

    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    reader_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, index=True)
    reader_kind: Mapped[str] = mapped_column(String(20))
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NotebookEntry(Base):
    """One notebook (schriftje) entry about one child."""

    __tablename__ = "notebook_entries"
    __table_args__ = (Index("ix_notebook_entries_child_written", "child_id", "written_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    child_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    group_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    author_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    author_kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Keys of samen_messaging.keepsake.ITEM_KEYS (eating, drinking, ...) to short free text.
    items: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    photo_ids: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list, server_default="{}")
    written_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Entries written together for several children share a batch id.
    batch_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NotebookReaction(Base):
    __tablename__ = "notebook_reactions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notebook_entries.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    author_kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NotebookSave(Base):
    """A guardian's bookmark on an entry they want to keep."""

    __tablename__ = "notebook_saves"

    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notebook_entries.id", ondelete="CASCADE"), primary_key=True)
    guardian_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, index=True)
    saved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NewsItem(Base):
    """A news item or newsletter for the organisation, some locations or some groups.

    Empty `location_ids` and `group_ids` mean the whole organisation. `published_at` stays NULL
    until `publish_at` has passed and the scheduler publishes the item.
    """

    __tablename__ = "news_items"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    location_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), default=list, server_default="{}")
    group_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), default=list, server_default="{}")
    # "item" or "newsletter" (samen_messaging.news.NewsKind).
    kind: Mapped[str] = mapped_column(String(20), default="item", server_default="item")
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    publish_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NewsAttachment(Base):
    """A PDF attached to a news item (at most SAMEN_NEWS_ATTACHMENT_MAX_BYTES), in object storage under `storage_key`.

    Attachments added before object storage have no key and keep their bytes in `content`.
    """

    __tablename__ = "news_attachments"
    __table_args__ = (CheckConstraint("(storage_key IS NULL) <> (content IS NULL)", name="one_place"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    news_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("news_items.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NewsRead(Base):
    __tablename__ = "news_reads"

    news_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("news_items.id", ondelete="CASCADE"), primary_key=True)
    guardian_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, index=True)
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Document(Base):
    """A PDF for one guardian (invoice, annual statement) or for one location (committee minutes).

    Exactly one of `guardian_id` and `location_id` is set. The bytes live in object storage
    under `storage_key`; this row holds only the metadata.
    """

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint("(guardian_id IS NULL) <> (location_id IS NULL)", name="one_owner"),
        Index("ix_documents_guardian_created", "guardian_id", "created_at"),
        Index("ix_documents_location_created", "location_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=_uuid)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    guardian_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    location_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # invoice, annual_statement or committee_minutes (samen_messaging.documents.DocumentKind).
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    # YYYY-MM for an invoice, YYYY for an annual statement, YYYY-MM-DD (the meeting) for minutes.
    period: Mapped[str] = mapped_column(String(10))
    filename: Mapped[str] = mapped_column(String(200))
    storage_key: Mapped[str] = mapped_column(String(300), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ParentCommittee(Base):
    """The parent committee (oudercommissie) of one location: members and a contact address."""

    __tablename__ = "parent_committees"

    location_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # [{"name": ..., "role": ...}] in the order the coordinator entered them.
    members: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    contact_email: Mapped[str | None] = mapped_column(String(254))
    updated_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OrganisationSettings(Base):
    """Messaging settings of one organisation. Without a row the defaults from the environment apply."""

    __tablename__ = "organisation_settings"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    guardian_notebook_entries: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    updated_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TimelineItem(Base):
    """One row of the guardian timeline read model.

    Photos, notebook entries and messages get one row per child (`child_id`). News gets one row
    with `child_id` NULL and its audience in `organisation_id`, `location_ids` and `group_ids`.
    Rows are ordered by (`occurred_at`, `ref_id`), which the cursor of a page encodes.
    """

    __tablename__ = "timeline_items"
    __table_args__ = (
        Index(
            "uq_timeline_items_kind_ref_child", "kind", "ref_id", "child_id",
            unique=True, postgresql_nulls_not_distinct=True,
        ),
        Index("ix_timeline_items_child_order", "child_id", text("occurred_at DESC"), text("ref_id DESC")),
        Index(
            "ix_timeline_items_audience_order", "organisation_id", text("occurred_at DESC"), text("ref_id DESC"),
            postgresql_where=text("child_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # photo, notebook, message, news, request (samen_messaging.timeline.ItemKind).
    kind: Mapped[str] = mapped_column(String(20))
    ref_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    child_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    group_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    location_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), default=list, server_default="{}")
    group_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), default=list, server_default="{}")
    # Every child tagged on a photo, so consent can be checked again when the timeline is read.
    tagged_child_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), default=list, server_default="{}"
    )
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    summary: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")


class OutboxMessage(OutboxMessageMixin, Base):
    pass


class HandledEvent(HandledEventMixin, Base):
    pass
