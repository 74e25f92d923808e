"""Queries of the media service, named for what they read or write."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.orm import Session

from samen_media.models import ActivityLabel, PendingUpload, Photo, PhotoAudit, PhotoChild, PhotoStatus


def photo_by_id(session: Session, photo_id: uuid.UUID) -> Photo | None:
    return session.get(Photo, photo_id)


def photo_for_update(session: Session, photo_id: uuid.UUID) -> Photo | None:
    return session.get(Photo, photo_id, with_for_update=True, populate_existing=True)


def photos_by_ids(session: Session, photo_ids: Iterable[uuid.UUID]) -> list[Photo]:
    ids = list(photo_ids)
    if not ids:
        return []
    return list(session.scalars(select(Photo).where(Photo.id.in_(ids))))


def child_tags(session: Session, photo_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Return {photo id: [tagged child ids]} for every given photo, with [] for untagged ones."""
    ids = list(photo_ids)
    result: dict[uuid.UUID, list[uuid.UUID]] = {photo_id: [] for photo_id in ids}
    if not ids:
        return result
    rows = session.execute(
        select(PhotoChild.photo_id, PhotoChild.child_id)
        .where(PhotoChild.photo_id.in_(ids))
        .order_by(PhotoChild.tagged_at, PhotoChild.child_id)
    )
    for photo_id, child_id in rows:
        result[photo_id].append(child_id)
    return result


def replace_child_tags(
    session: Session, photo_id: uuid.UUID, child_ids: list[uuid.UUID], tagged_by: uuid.UUID
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """Set the photo's child tags to `child_ids`; return (added, removed)."""
    current = set(child_tags(session, [photo_id])[photo_id])
    requested = set(child_ids)
    added = [child for child in child_ids if child not in current]
    removed = sorted(current - requested)
    if removed:
        session.execute(
            delete(PhotoChild).where(PhotoChild.photo_id == photo_id, PhotoChild.child_id.in_(removed))
        )
    if added:
        session.execute(
            insert(PhotoChild),
            [{"photo_id": photo_id, "child_id": child, "tagged_by": tagged_by} for child in added],
        )
    return added, removed


def list_album_page(
    session: Session,
    child_id: uuid.UUID,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
    taken_from: datetime | None = None,
    taken_until: datetime | None = None,
) -> list[Photo]:
    """Return ready photos tagged with `child_id`, newest first, after the keyset position `before`."""
    statement = (
        select(Photo)
        .join(PhotoChild, PhotoChild.photo_id == Photo.id)
        .where(PhotoChild.child_id == child_id, Photo.status == PhotoStatus.READY)
    )
    if before is not None:
        statement = statement.where(tuple_(Photo.taken_at, Photo.id) < tuple_(*before))
    if taken_from is not None:
        statement = statement.where(Photo.taken_at >= taken_from)
    if taken_until is not None:
        statement = statement.where(Photo.taken_at < taken_until)
    return list(session.scalars(statement.order_by(Photo.taken_at.desc(), Photo.id.desc()).limit(limit)))


def list_group_photos(
    session: Session, group_id: uuid.UUID, taken_from: datetime, taken_until: datetime
) -> list[Photo]:
    """Return the photos of a group taken in [taken_from, taken_until), newest first, except deleted ones."""
    return list(
        session.scalars(
            select(Photo)
            .where(
                Photo.group_id == group_id,
                Photo.status != PhotoStatus.DELETED,
                Photo.taken_at >= taken_from,
                Photo.taken_at < taken_until,
            )
            .order_by(Photo.taken_at.desc(), Photo.id.desc())
        )
    )


def list_recent_ready_photos(session: Session, group_ids: Iterable[uuid.UUID], limit: int) -> list[Photo]:
    ids = list(group_ids)
    if not ids:
        return []
    return list(
        session.scalars(
            select(Photo)
            .where(Photo.group_id.in_(ids), Photo.status == PhotoStatus.READY)
            .order_by(Photo.taken_at.desc(), Photo.id.desc())
            .limit(limit)
        )
    )


def list_stuck_processing(session: Session, queued_before: datetime) -> list[Photo]:
    """Return up to 100 photos still processing that were last queued before `queued_before`."""
    return list(
        session.scalars(
            select(Photo)
            .where(Photo.status == PhotoStatus.PROCESSING, Photo.queued_at < queued_before)
            .order_by(Photo.queued_at)
            .limit(100)
            .with_for_update(skip_locked=True)
        )
    )


def list_activity_labels(session: Session, organisation_id: uuid.UUID) -> list[ActivityLabel]:
    return list(
        session.scalars(
            select(ActivityLabel)
            .where(ActivityLabel.organisation_id == organisation_id, ActivityLabel.active.is_(True))
            .order_by(ActivityLabel.name_nl)
        )
    )


def activity_labels_by_ids(session: Session, label_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ActivityLabel]:
    ids = [label_id for label_id in label_ids if label_id is not None]
    if not ids:
        return {}
    return {label.id: label for label in session.scalars(select(ActivityLabel).where(ActivityLabel.id.in_(ids)))}


def pending_upload_for_update(session: Session, upload_key: str) -> PendingUpload | None:
    return session.get(PendingUpload, upload_key, with_for_update=True, populate_existing=True)


def insert_audit(
    session: Session,
    action: str,
    *,
    photo_id: uuid.UUID | None,
    account_id: uuid.UUID | None,
    account_kind: str | None,
    request_id: str | None,
    client_address: str | None,
    details: dict | None = None,
) -> None:
    session.add(
        PhotoAudit(
            action=action,
            photo_id=photo_id,
            account_id=account_id,
            account_kind=account_kind,
            request_id=request_id,
            client_address=client_address,
            details=details or {},
        )
    )
