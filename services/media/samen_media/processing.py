"""Turn an uploaded object into the stored original and derivatives, once per photo.

The variant keys are fixed when the photo is registered (`<key_prefix>/<variant>.jpg`), so a
redelivered or repeated job overwrites the same objects instead of creating a second set, and
the status check under a row lock lets only the first finished job mark the photo ready.
"""

from __future__ import annotations

import io
import uuid

import structlog
from sqlalchemy.orm import Session

from samen_common.db import atomic
from samen_common.outbox import claim_event
from samen_common.timeutil import utcnow
from samen_media import imaging, queries
from samen_media.models import HandledEvent, Photo, PhotoStatus
from samen_media.settings import MediaSettings
from samen_media.storage import ObjectNotFound, ObjectStorage, StorageError, variant_key

log = structlog.get_logger(__name__)

HANDLER = "media.process_photo"


def variant_keys(photo: Photo) -> list[str]:
    """Return every object key the photo may own: its variants and, until processed, the upload."""
    keys = [variant["key"] for variant in (photo.variants or {}).values()]
    if photo.status == PhotoStatus.PROCESSING:
        keys.append(photo.upload_key)
        keys += [variant_key(photo.key_prefix, name) for name in (imaging.ORIGINAL_VARIANT, *imaging.DEFAULT_SIZES)]
    return sorted(set(keys))


def publish_if_due(session: Session, outbox, photo: Photo, child_ids: list[uuid.UUID]) -> bool:
    """Mark a ready photo with at least one tagged child published and stage `photo_published`."""
    if photo.status != PhotoStatus.READY or photo.published_at is not None or not child_ids:
        return False
    photo.published_at = utcnow()
    outbox.add(
        session,
        "photo_published",
        {
            "photo_id": str(photo.id),
            "child_ids": [str(child) for child in child_ids],
            "group_id": str(photo.group_id),
            "location_id": str(photo.location_id),
            "taken_at": photo.taken_at.isoformat(),
            "published_at": photo.published_at.isoformat(),
            "uploaded_by": str(photo.uploaded_by),
        },
    )
    return True


def process_photo(
    session: Session, storage: ObjectStorage, settings: MediaSettings, outbox, photo_id: str, event_id: str
) -> str:
    """Process one uploaded photo and return its status afterwards ("skipped" when done before).

    StorageUnavailable propagates: the photo stays processing and the retry timer tries again.
    """
    with atomic(session):
        photo = queries.photo_for_update(session, uuid.UUID(photo_id))
        if photo is None or photo.status != PhotoStatus.PROCESSING:
            log.info("photo.process_skipped", photo_id=photo_id, status=photo.status if photo else None)
            return "skipped"
        photo.processing_attempts += 1
        upload_key, prefix = photo.upload_key, photo.key_prefix

    try:
        data = storage.get(upload_key)
    except ObjectNotFound:
        return _mark_failed(session, outbox, photo_id, event_id, "photo_upload_missing")

    try:
        processed = imaging.process_in_thread(io.BytesIO(data), max_pixels=settings.max_pixels)
    except imaging.ImagingError as exc:
        log.info("photo.rejected", photo_id=photo_id, code=exc.code, detail=exc.detail[:200])
        return _mark_failed(session, outbox, photo_id, event_id, exc.code)
    del data

    variants = {}
    for name, variant in processed.variants.items():
        key = variant_key(prefix, name)
        storage.put(key, variant.data, variant.content_type)
        variants[name] = {"key": key, "width": variant.width, "height": variant.height, "bytes": len(variant.data)}

    with atomic(session):
        if not claim_event(session, HandledEvent, event_id, HANDLER):
            return "skipped"
        photo = queries.photo_for_update(session, uuid.UUID(photo_id))
        if photo.status == PhotoStatus.DELETED:
            # Deleted while this job ran: remove what the job wrote.
            status = "deleted"
        elif photo.status != PhotoStatus.PROCESSING:
            status = "skipped"
        else:
            photo.variants = variants
            photo.source_kind = processed.source_kind
            photo.status = PhotoStatus.READY
            photo.processed_at = utcnow()
            publish_if_due(session, outbox, photo, queries.child_tags(session, [photo.id])[photo.id])
            status = PhotoStatus.READY.value

    if status == "deleted":
        _delete_quietly(storage, [v["key"] for v in variants.values()] + [upload_key])
    elif status == PhotoStatus.READY:
        _delete_quietly(storage, [upload_key])
    log.info("photo.processed", photo_id=photo_id, status=status, kind=processed.source_kind)
    return status


def _mark_failed(session: Session, outbox, photo_id: str, event_id: str, code: str) -> str:
    with atomic(session):
        if not claim_event(session, HandledEvent, event_id, HANDLER):
            return "skipped"
        photo = queries.photo_for_update(session, uuid.UUID(photo_id))
        if photo.status != PhotoStatus.PROCESSING:
            return "skipped"
        photo.status = PhotoStatus.FAILED
        photo.failure_code = code
        photo.processed_at = utcnow()
    log.info("photo.failed", photo_id=photo_id, code=code)
    return PhotoStatus.FAILED.value


def mark_stuck_failed(session: Session, photo: Photo) -> None:
    photo.status = PhotoStatus.FAILED
    photo.failure_code = "storage_unavailable"
    photo.processed_at = utcnow()


def _delete_quietly(storage: ObjectStorage, keys: list[str]) -> None:
    for key in keys:
        try:
            storage.delete(key)
        except StorageError as exc:
            # NOTE: an object left here stays in storage, unreachable because no row points to
            # it, until a sweep of orphaned keys exists.
            log.warning("storage.delete_failed", key=key, error=str(exc)[:200])
