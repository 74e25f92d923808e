"""Named queries of the messaging service."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, exists, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from samen_messaging.models import (
    Message,
    MessageRead,
    NewsItem,
    NewsRead,
    NotebookEntry,
    NotebookReaction,
    NotebookSave,
    OrganisationSettings,
    Thread,
    TimelineItem,
)


def upsert_thread(session: Session, child_id: uuid.UUID, group_id: uuid.UUID, organisation_id: uuid.UUID) -> Thread:
    session.execute(
        insert(Thread)
        .values(id=uuid.uuid4(), child_id=child_id, group_id=group_id, organisation_id=organisation_id)
        .on_conflict_do_nothing(index_elements=["child_id", "group_id"])
    )
    return session.scalars(
        select(Thread).where(Thread.child_id == child_id, Thread.group_id == group_id).with_for_update()
    ).one()


def list_threads_with_unread(session: Session, reader_id: uuid.UUID, *, child_ids=None, group_ids=None) -> list:
    """Return (thread, unread count, message count) rows, newest activity first."""
    unread = func.count(Message.id).filter(
        Message.author_id != reader_id,
        ~exists().where(and_(MessageRead.message_id == Message.id, MessageRead.reader_id == reader_id)),
    )
    statement = (
        select(Thread, unread.label("unread"), func.count(Message.id).label("total"))
        .outerjoin(Message, Message.thread_id == Thread.id)
        .group_by(Thread.id)
        .order_by(Thread.last_message_at.desc(), Thread.id.desc())
    )
    if child_ids is not None:
        statement = statement.where(Thread.child_id.in_(child_ids))
    if group_ids is not None:
        statement = statement.where(Thread.group_id.in_(group_ids))
    return session.execute(statement).all()


def last_messages(session: Session, thread_ids: list[uuid.UUID]) -> dict[uuid.UUID, Message]:
    if not thread_ids:
        return {}
    rows = session.scalars(
        select(Message)
        .where(Message.thread_id.in_(thread_ids))
        .distinct(Message.thread_id)
        .order_by(Message.thread_id, Message.created_at.desc())
    )
    return {row.thread_id: row for row in rows}


def list_messages(session: Session, thread_id: uuid.UUID) -> list[Message]:
    return list(session.scalars(select(Message).where(Message.thread_id == thread_id).order_by(Message.created_at, Message.id)))


def insert_reads(session: Session, message_ids: list[uuid.UUID], reader_id: uuid.UUID, reader_kind: str, now: datetime) -> None:
    if not message_ids:
        return
    session.execute(
        insert(MessageRead)
        .values([
            {"message_id": message_id, "reader_id": reader_id, "reader_kind": reader_kind, "read_at": now}
            for message_id in message_ids
        ])
        .on_conflict_do_nothing()
    )


def list_reads(session: Session, message_ids: list[uuid.UUID]) -> list[MessageRead]:
    if not message_ids:
        return []
    return list(session.scalars(
        select(MessageRead).where(MessageRead.message_id.in_(message_ids)).order_by(MessageRead.read_at)
    ))


def list_entries(session: Session, child_id: uuid.UUID, start: datetime | None, end: datetime | None,
                 saved_by: uuid.UUID | None = None) -> list[NotebookEntry]:
    statement = select(NotebookEntry).where(NotebookEntry.child_id == child_id)
    if start is not None:
        statement = statement.where(NotebookEntry.written_at >= start)
    if end is not None:
        statement = statement.where(NotebookEntry.written_at < end)
    if saved_by is not None:
        statement = statement.where(
            exists().where(and_(NotebookSave.entry_id == NotebookEntry.id, NotebookSave.guardian_id == saved_by))
        )
    return list(session.scalars(statement.order_by(NotebookEntry.written_at.desc(), NotebookEntry.id.desc())))


def reactions_of(session: Session, entry_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[NotebookReaction]]:
    result: dict[uuid.UUID, list[NotebookReaction]] = {}
    if not entry_ids:
        return result
    rows = session.scalars(
        select(NotebookReaction).where(NotebookReaction.entry_id.in_(entry_ids)).order_by(NotebookReaction.created_at)
    )
    for row in rows:
        result.setdefault(row.entry_id, []).append(row)
    return result


def saved_entry_ids(session: Session, guardian_id: uuid.UUID, entry_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    if not entry_ids:
        return set()
    return set(session.scalars(
        select(NotebookSave.entry_id).where(NotebookSave.guardian_id == guardian_id, NotebookSave.entry_id.in_(entry_ids))
    ))


def entries_on_day(session: Session, child_ids: list[uuid.UUID], start: datetime, end: datetime) -> list[NotebookEntry]:
    if not child_ids:
        return []
    return list(session.scalars(
        select(NotebookEntry)
        .where(NotebookEntry.child_id.in_(child_ids), NotebookEntry.written_at >= start, NotebookEntry.written_at < end)
        .order_by(NotebookEntry.written_at)
    ))


def organisation_settings(session: Session, organisation_id: uuid.UUID) -> OrganisationSettings | None:
    return session.get(OrganisationSettings, organisation_id)


def upsert_organisation_settings(session: Session, organisation_id: uuid.UUID, guardian_notebook_entries: bool,
                                 updated_by: uuid.UUID, now: datetime) -> None:
    values = {"guardian_notebook_entries": guardian_notebook_entries, "updated_by": updated_by, "updated_at": now}
    session.execute(
        insert(OrganisationSettings)
        .values(organisation_id=organisation_id, **values)
        .on_conflict_do_update(index_elements=["organisation_id"], set_=values)
    )


def news_for_audience(session: Session, organisation_id: uuid.UUID, location_ids: list[uuid.UUID],
                      group_ids: list[uuid.UUID]):
    """Return the published news whose audience includes one of these locations or groups."""
    return session.scalars(
        select(NewsItem)
        .where(NewsItem.organisation_id == organisation_id, NewsItem.published_at.is_not(None), _audience(NewsItem, location_ids, group_ids))
        .order_by(NewsItem.published_at.desc(), NewsItem.id.desc())
    ).all()


def _audience(model, location_ids: list[uuid.UUID], group_ids: list[uuid.UUID]):
    whole_organisation = and_(func.cardinality(model.location_ids) == 0, func.cardinality(model.group_ids) == 0)
    return whole_organisation | model.location_ids.overlap(location_ids) | model.group_ids.overlap(group_ids)


def news_read_ids(session: Session, guardian_id: uuid.UUID, news_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    if not news_ids:
        return set()
    return set(session.scalars(
        select(NewsRead.news_id).where(NewsRead.guardian_id == guardian_id, NewsRead.news_id.in_(news_ids))
    ))


def news_read_counts(session: Session, news_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not news_ids:
        return {}
    rows = session.execute(
        select(NewsRead.news_id, func.count()).where(NewsRead.news_id.in_(news_ids)).group_by(NewsRead.news_id)
    )
    return dict(rows.all())


def due_news_for_update(session: Session, now: datetime, limit: int = 100) -> list[NewsItem]:
    return list(session.scalars(
        select(NewsItem)
        .where(NewsItem.published_at.is_(None), NewsItem.publish_at <= now)
        .order_by(NewsItem.publish_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ))


def upsert_timeline_item(session: Session, **values) -> None:
    """Insert a timeline row, or update it when (kind, ref_id, child_id) exists."""
    statement = insert(TimelineItem).values(**values)
    updatable = {key: statement.excluded[key] for key in values if key not in ("kind", "ref_id", "child_id")}
    session.execute(
        statement.on_conflict_do_update(index_elements=["kind", "ref_id", "child_id"], set_=updatable)
    )


def delete_timeline_items(session: Session, kind: str, ref_id: uuid.UUID, keep_child_ids=None) -> int:
    from sqlalchemy import delete

    statement = delete(TimelineItem).where(TimelineItem.kind == kind, TimelineItem.ref_id == ref_id)
    if keep_child_ids:
        statement = statement.where(TimelineItem.child_id.not_in(list(keep_child_ids)))
    return session.execute(statement).rowcount


# Without a cursor the row comparison is left out instead of being OR-ed with `IS NULL`, so that
# PostgreSQL uses it as an index condition and a deep page starts at the cursor in the index.
_BEFORE = "AND (i.occurred_at, i.ref_id) < (CAST(:before_at AS timestamptz), CAST(:before_ref AS uuid))"

_CHILD_PAGE = """
    SELECT t.kind, t.ref_id, t.child_id, t.group_id, t.occurred_at, t.summary, t.tagged_child_ids
    FROM unnest(CAST(:child_ids AS uuid[])) AS c(child_id)
    CROSS JOIN LATERAL (
        SELECT * FROM timeline_items i
        WHERE i.child_id = c.child_id {before}
        ORDER BY i.occurred_at DESC, i.ref_id DESC
        LIMIT :limit
    ) AS t
"""

_AUDIENCE_PAGE = """
    SELECT i.kind, i.ref_id, i.child_id, i.group_id, i.occurred_at, i.summary, i.tagged_child_ids
    FROM timeline_items i
    WHERE i.child_id IS NULL
      AND i.organisation_id = :organisation_id
      AND ((cardinality(i.location_ids) = 0 AND cardinality(i.group_ids) = 0)
           OR i.location_ids && CAST(:location_ids AS uuid[])
           OR i.group_ids && CAST(:group_ids AS uuid[]))
      {before}
    ORDER BY i.occurred_at DESC, i.ref_id DESC
    LIMIT :limit
"""

TIMELINE_QUERIES = {
    (name, with_cursor): text(template.format(before=_BEFORE if with_cursor else ""))
    for name, template in (("child", _CHILD_PAGE), ("audience", _AUDIENCE_PAGE))
    for with_cursor in (False, True)
}


def timeline_rows(session: Session, *, child_ids, organisation_id, location_ids, group_ids, before, limit: int) -> list:
    """Return up to `limit` rows per child plus `limit` audience rows, all older than `before`.

    The caller merges and trims them. Each child's part walks the (child_id, occurred_at DESC,
    ref_id DESC) index, so a page costs a few index scans however long the history is.
    """
    params = {"limit": limit}
    if before:
        params.update(before_at=before[0], before_ref=before[1])
    with_cursor = before is not None
    rows = list(session.execute(
        TIMELINE_QUERIES["child", with_cursor], {**params, "child_ids": list(child_ids)}
    ).mappings())
    if organisation_id is not None:
        rows.extend(session.execute(
            TIMELINE_QUERIES["audience", with_cursor],
            {**params, "organisation_id": organisation_id, "location_ids": list(location_ids), "group_ids": list(group_ids)},
        ).mappings())
    rows.sort(key=lambda row: (row["occurred_at"], row["ref_id"]), reverse=True)
    return rows


def select_timeline_photo(photo_id: uuid.UUID):
    return (
        select(TimelineItem)
        .where(TimelineItem.kind == "photo", TimelineItem.ref_id == photo_id)
        .order_by(TimelineItem.id)
        .limit(1)
    )
