"""The media service: photo uploads, processing, tags, visibility, downloads and the photo audit."""

from __future__ import annotations

import base64
import io
import binascii
import json
import uuid
from datetime import date, datetime, time, timedelta

import structlog
from eventlet import tpool
from nameko.events import event_handler
from nameko.timer import timer

from samen_common.auth import Caller, CallerIdentity
from samen_common.context import RequestContext
from samen_common.db import Database, atomic
from samen_common.errors import (
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    SamenError,
    ServiceUnavailable,
    Unprocessable,
    UnsupportedMediaType,
)
from samen_common.logs import configure_logging
from samen_common.outbox import Outbox
from samen_common.rpc import TimedRpcProxy, rpc
from samen_common.timeutil import AMSTERDAM, local_today, parse_aware, utcnow
from samen_media import imaging, messages  # noqa: F401 - messages registers the service's texts
from samen_media import processing, queries
from samen_media.access import (
    Refusal,
    decide_for_guardian,
    decide_for_staff,
    guardian_child_ids,
    parse_uuid,
    tag_group_ids,
)
from samen_media.dependencies import PhotoStorage, Settings
from samen_media.presenting import PhotoPresenter, label_dict
from samen_media.models import ActivityLabel, AuditAction, OutboxMessage, PendingUpload, Photo, PhotoStatus
from samen_media.storage import (
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
    InvalidObjectKey,
    new_object_key,
    validate_key,
    variant_key,
)

configure_logging("media")
log = structlog.get_logger(__name__)

UPLOAD_KIND = "uploads"
PHOTO_KIND = "photos"
UPLOAD_CONTENT_TYPES = {"image/jpeg", "image/png", "image/heic", "image/heif", "image/webp"}
ALBUM_PAGE_MAX = 100
BLOCKED_SCAN_LIMIT = 500
_UNSET = "__unset__"


def storage_error(exc: StorageError) -> SamenError:
    """Map a storage failure to the error the caller sees: 404 for a missing object, else 503."""
    if isinstance(exc, ObjectNotFound):
        return NotFound()
    if isinstance(exc, InvalidObjectKey):
        return NotFound()
    return ServiceUnavailable(StorageUnavailable.code, messages=dict(StorageUnavailable.messages))


def imaging_error(exc: imaging.ImagingError) -> SamenError:
    if isinstance(exc, imaging.UnsupportedImage):
        return UnsupportedMediaType(exc.code, messages=dict(exc.messages))
    return Unprocessable(exc.code, messages=dict(exc.messages))


def encode_cursor(photo: Photo) -> str:
    raw = json.dumps([photo.taken_at.isoformat(), str(photo.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        taken_at, photo_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(taken_at), uuid.UUID(photo_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput("photo_invalid_cursor") from exc


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return the instants where a local Amsterdam day starts and the next one starts."""
    start = datetime.combine(day, time.min, tzinfo=AMSTERDAM)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=AMSTERDAM)
    return start, end


def parse_bound(value: str | None, field: str, *, end: bool) -> datetime | None:
    """Parse a date (a whole local day) or an aware timestamp; reject a timestamp without a zone."""
    if not value:
        return None
    if len(value) == 10:
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInput("invalid_input", field=field, value=value) from exc
        start, next_start = local_day_bounds(day)
        return next_start if end else start
    return parse_aware(value, field)


class MediaService(PhotoPresenter):
    name = "media"

    db = Database("media")
    outbox = Outbox(OutboxMessage)
    context = RequestContext()
    caller = CallerIdentity()
    accounts = TimedRpcProxy("accounts")
    storage = PhotoStorage()
    settings = Settings()

    @rpc
    def health(self) -> dict:
        return {"service": self.name, "status": "ok"}

    # Uploads.

    @rpc
    def register_uploads(
        self,
        uploads: list[dict],
        group_id: str,
        child_ids: list[str] | None = None,
        staff_ids: list[str] | None = None,
        activity_label_id: str | None = None,
        activity_text: str | None = None,
        taken_at: str | None = None,
    ) -> list[dict]:
        """Register objects the gateway wrote to storage as photos and queue their processing.

        `uploads` holds {"upload_key", "original_filename"} per file. Only keys under "uploads/"
        that exist in storage and were never registered are accepted.
        """
        caller = self.caller().require_staff()
        if not uploads:
            raise InvalidInput("photo_no_files")
        if len(uploads) > self.settings.max_files_per_upload:
            raise InvalidInput("photo_too_many_files", limit=self.settings.max_files_per_upload)
        keys = [self._checked_upload_key(upload.get("upload_key")) for upload in uploads]
        tags = self._checked_tags(caller, group_id, child_ids, staff_ids, activity_label_id, activity_text)
        taken = parse_aware(taken_at, "taken_at") if taken_at else utcnow()

        for key in keys:
            try:
                if not self.storage.exists(key):
                    raise NotFound("photo_upload_missing")
            except StorageError as exc:
                raise storage_error(exc) from exc

        with atomic(self.db):
            photos = [
                self._insert_photo(caller, key, upload.get("original_filename"), tags, taken)
                for key, upload in zip(keys, uploads)
            ]
        consent = self._consent(tags["child_ids"])
        return [self._staff_photo(photo, tags["child_ids"], consent) for photo in photos]

    @rpc
    def create_upload(self, content_type: str) -> dict:
        """Return a presigned upload for one photo; confirm it with `confirm_upload`."""
        caller = self.caller().require_staff()
        if content_type not in UPLOAD_CONTENT_TYPES:
            raise UnsupportedMediaType("unsupported_type")
        # NOTE: an upload that is never confirmed keeps its object and pending_uploads row; no
        # job deletes expired ones yet.
        key = variant_key(new_object_key(UPLOAD_KIND), "source", "bin")
        ttl = self.settings.upload_url_ttl_seconds
        try:
            upload = self.storage.presigned_upload(key, content_type, self.settings.max_upload_bytes, ttl)
        except StorageError as exc:
            raise storage_error(exc) from exc
        with atomic(self.db):
            self.db.add(
                PendingUpload(
                    upload_key=key, staff_id=uuid.UUID(caller.account_id), content_type=content_type,
                    max_bytes=self.settings.max_upload_bytes, expires_at=utcnow() + timedelta(seconds=ttl),
                )
            )
        return {
            "upload_key": key, "method": upload.method, "url": upload.url, "fields": upload.fields,
            "headers": upload.headers, "expires_at": upload.expires_at,
            "max_bytes": self.settings.max_upload_bytes,
        }

    @rpc
    def confirm_upload(
        self,
        upload_key: str,
        group_id: str,
        child_ids: list[str] | None = None,
        staff_ids: list[str] | None = None,
        activity_label_id: str | None = None,
        activity_text: str | None = None,
        taken_at: str | None = None,
    ) -> dict:
        """Register a presigned upload as a photo after checking its size and type from its bytes."""
        caller = self.caller().require_staff()
        pending = self.db.get(PendingUpload, str(upload_key or ""))
        if pending is None or str(pending.staff_id) != caller.account_id:
            raise NotFound()
        # An upload that started just before its URL expired may finish a little later, so the
        # confirmation is accepted for five more minutes.
        if pending.confirmed_at is not None or pending.expires_at < utcnow() - timedelta(minutes=5):
            raise Unprocessable("photo_upload_expired")
        tags = self._checked_tags(caller, group_id, child_ids, staff_ids, activity_label_id, activity_text)
        taken = parse_aware(taken_at, "taken_at") if taken_at else utcnow()
        self._check_uploaded_object(pending.upload_key)

        with atomic(self.db):
            pending = queries.pending_upload_for_update(self.db, pending.upload_key)
            if pending.confirmed_at is not None:
                raise Unprocessable("photo_upload_expired")
            pending.confirmed_at = utcnow()
            photo = self._insert_photo(caller, pending.upload_key, None, tags, taken)
        return self._staff_photo(photo, tags["child_ids"], self._consent(tags["child_ids"]))

    def _check_uploaded_object(self, key: str) -> None:
        """Reject an object that is too large (413) or whose header is no accepted image (415, 422)."""
        try:
            size = self.storage.size(key)
            if size > self.settings.max_upload_bytes:
                self.storage.delete(key)
                raise PayloadTooLarge(limit=f"{self.settings.max_upload_bytes // (1024 * 1024)} MB")
            data = self.storage.get(key)
        except ObjectNotFound as exc:
            raise NotFound("photo_upload_missing") from exc
        except StorageError as exc:
            raise storage_error(exc) from exc
        try:
            tpool.execute(_inspect_bytes, data, self.settings.max_pixels)
        except imaging.ImagingError as exc:
            self.storage.delete(key)
            raise imaging_error(exc) from exc

    def _checked_upload_key(self, key) -> str:
        try:
            validate_key(str(key or ""))
        except InvalidObjectKey:
            raise NotFound("photo_upload_missing") from None
        if not key.startswith(UPLOAD_KIND + "/"):
            raise NotFound("photo_upload_missing")
        return key

    def _insert_photo(self, caller: Caller, upload_key: str, filename: str | None, tags: dict, taken: datetime) -> Photo:
        photo = Photo(
            id=uuid.uuid4(),
            organisation_id=uuid.UUID(tags["organisation_id"]),
            location_id=uuid.UUID(tags["location_id"]),
            group_id=uuid.UUID(tags["group_id"]),
            uploaded_by=uuid.UUID(caller.account_id),
            status=PhotoStatus.PROCESSING,
            upload_key=upload_key,
            key_prefix=new_object_key(PHOTO_KIND),
            original_filename=(filename or "")[:255] or None,
            staff_ids=[uuid.UUID(s) for s in tags["staff_ids"]],
            activity_label_id=uuid.UUID(tags["activity_label_id"]) if tags["activity_label_id"] else None,
            activity_text=tags["activity_text"],
            taken_at=taken,
            variants={},
        )
        self.db.add(photo)
        self.db.flush()
        queries.replace_child_tags(self.db, photo.id, [uuid.UUID(c) for c in tags["child_ids"]], photo.uploaded_by)
        self._audit(caller, AuditAction.UPLOAD, photo.id, {"child_ids": tags["child_ids"]})
        self.outbox.add(self.db, "photo_uploaded", {"photo_id": str(photo.id)})
        return photo

    # Tags.

    def _checked_tags(
        self, caller: Caller, group_id, child_ids, staff_ids, activity_label_id, activity_text
    ) -> dict:
        """Validate tags against the caller's scope; any id outside it is NotFound."""
        scope = self.accounts.access_scope()
        allowed_groups = tag_group_ids(scope)
        if str(group_id) not in allowed_groups:
            raise NotFound()
        group = next(iter(self.accounts.groups([str(group_id)])), None)
        if group is None:
            raise NotFound()

        child_ids = _unique_ids(child_ids)
        if child_ids:
            placed = self.accounts.children_of_groups(sorted(allowed_groups))
            taggable = {child for children in placed.values() for child in children}
            if not set(child_ids) <= taggable:
                raise NotFound()

        staff_ids = _unique_ids(staff_ids)
        if staff_ids:
            staff = self.accounts.staff_of_groups(sorted(allowed_groups))
            taggable_staff = {member for members in staff.values() for member in members} | {caller.account_id}
            if not set(staff_ids) <= taggable_staff:
                raise NotFound()

        label_id = None
        if activity_label_id:
            label = self.db.get(ActivityLabel, parse_uuid(activity_label_id)) if parse_uuid(activity_label_id) else None
            if label is None or not label.active or str(label.organisation_id) != group["organisation_id"]:
                raise NotFound()
            label_id = str(label.id)
        text = (activity_text or "").strip() or None
        if text is not None and len(text) > 200:
            raise InvalidInput("photo_activity_text_too_long")

        return {
            "group_id": str(group_id), "location_id": group["location_id"], "organisation_id": group["organisation_id"],
            "child_ids": child_ids, "staff_ids": staff_ids, "activity_label_id": label_id, "activity_text": text,
        }

    @rpc
    def tag_photo(
        self,
        photo_id: str,
        child_ids: list[str] | None = None,
        staff_ids: list[str] | None = None,
        activity_label_id: str | None = _UNSET,
        activity_text: str | None = _UNSET,
    ) -> dict:
        """Replace the photo's tags; a list left out (None) or an activity left out keeps its value.

        Added and removed child tags are audited. A published photo whose children change emits
        `photo_retagged`; a ready photo that gets its first child emits `photo_published`.
        """
        caller = self.caller().require_staff()
        photo = self._staff_photo_or_404(caller, photo_id)
        current_children = [str(c) for c in queries.child_tags(self.db, [photo.id])[photo.id]]
        tags = self._checked_tags(
            caller, str(photo.group_id),
            current_children if child_ids is None else child_ids,
            [str(s) for s in photo.staff_ids] if staff_ids is None else staff_ids,
            (str(photo.activity_label_id) if photo.activity_label_id else None)
            if activity_label_id == _UNSET else activity_label_id,
            photo.activity_text if activity_text == _UNSET else activity_text,
        )

        with atomic(self.db):
            photo = queries.photo_for_update(self.db, photo.id)
            if photo is None or photo.status == PhotoStatus.DELETED:
                raise NotFound()
            previous = queries.child_tags(self.db, [photo.id])[photo.id]
            new_children = [uuid.UUID(c) for c in tags["child_ids"]]
            added, removed = queries.replace_child_tags(self.db, photo.id, new_children, uuid.UUID(caller.account_id))
            photo.staff_ids = [uuid.UUID(s) for s in tags["staff_ids"]]
            photo.activity_label_id = uuid.UUID(tags["activity_label_id"]) if tags["activity_label_id"] else None
            photo.activity_text = tags["activity_text"]
            if added:
                self._audit(caller, AuditAction.TAG, photo.id, {"child_ids": [str(c) for c in added]})
            if removed:
                self._audit(caller, AuditAction.UNTAG, photo.id, {"child_ids": [str(c) for c in removed]})
            published_now = processing.publish_if_due(self.db, self.outbox, photo, new_children)
            if (added or removed) and photo.published_at is not None and not published_now:
                self.outbox.add(
                    self.db, "photo_retagged",
                    {
                        "photo_id": str(photo.id),
                        "child_ids": [str(c) for c in new_children],
                        "previous_child_ids": [str(c) for c in previous],
                    },
                )
        return self._staff_photo(photo, new_children, self._consent(new_children))

    # Staff actions.

    @rpc
    def delete_photo(self, photo_id: str) -> dict:
        """Delete every stored object of the photo, then mark it deleted and emit `photo_deleted`."""
        caller = self.caller().require_staff()
        photo = self._staff_photo_or_404(caller, photo_id)
        try:
            for key in processing.variant_keys(photo):
                self.storage.delete(key)
        except StorageError as exc:
            raise storage_error(exc) from exc

        with atomic(self.db):
            photo = queries.photo_for_update(self.db, photo.id)
            if photo is None or photo.status == PhotoStatus.DELETED:
                raise NotFound()
            child_ids = queries.child_tags(self.db, [photo.id])[photo.id]
            photo.status = PhotoStatus.DELETED
            photo.deleted_at = utcnow()
            photo.variants = {}
            self._audit(caller, AuditAction.DELETE, photo.id, {"child_ids": [str(c) for c in child_ids]})
            self.outbox.add(
                self.db, "photo_deleted", {"photo_id": str(photo.id), "child_ids": [str(c) for c in child_ids]}
            )
        return {"id": str(photo.id), "status": PhotoStatus.DELETED.value}

    @rpc
    def group_photos(self, group_id: str, day: str | None = None) -> list[dict]:
        """Return every photo of a group taken on a local day (default today), for staff of that group."""
        caller = self.caller().require_staff()
        scope = self.accounts.access_scope()
        group = parse_uuid(group_id)
        if group is None or str(group) not in set(scope.get("group_ids") or []):
            raise NotFound()
        try:
            the_day = date.fromisoformat(day) if day else local_today()
        except ValueError as exc:
            raise InvalidInput("invalid_input", field="date", value=day) from exc
        start, end = local_day_bounds(the_day)
        photos = queries.list_group_photos(self.db, group, start, end)
        return self._staff_photos(caller, photos)

    @rpc
    def blocked_photos(self) -> list[dict]:
        """Return the ready photos in the caller's groups on which a tagged child lacks consent now."""
        caller = self.caller().require_staff()
        scope = self.accounts.access_scope()
        groups = [uuid.UUID(g) for g in scope.get("group_ids") or []]
        # NOTE: only the newest BLOCKED_SCAN_LIMIT ready photos of the groups are checked; older
        # blocked photos are not listed until this becomes a paginated scan.
        photos = queries.list_recent_ready_photos(self.db, groups, BLOCKED_SCAN_LIMIT)
        return [item for item in self._staff_photos(caller, photos) if item["blocked"]]

    # Reading.

    @rpc
    def get_photo(self, photo_id: str) -> dict:
        caller = self.caller()
        photo, tags, decision, scope = self._decide_one(caller, photo_id)
        if caller.is_guardian:
            self._audit_commit(caller, AuditAction.VIEW, photo.id, {})
            return self._guardian_photo(photo, tags, guardian_child_ids(scope))
        self._audit_commit(caller, AuditAction.VIEW, photo.id, {})
        return self._staff_photo(photo, tags, self._consent(tags))

    @rpc
    def original_url(self, photo_id: str) -> dict:
        """Return a short-lived URL of the metadata-free original; the download is audited."""
        caller = self.caller()
        photo, _tags, decision, _scope = self._decide_one(caller, photo_id)
        if photo.status != PhotoStatus.READY:
            raise Unprocessable("photo_not_ready")
        local = photo.taken_at.astimezone(AMSTERDAM)
        filename = f"samen-{local:%Y%m%d-%H%M%S}.jpg"
        url = self._url(photo, imaging.ORIGINAL_VARIANT, filename)
        self._audit_commit(caller, AuditAction.DOWNLOAD, photo.id, {"variant": "original"})
        return {"url": url, "expires_in": self.settings.url_ttl_seconds, "filename": filename}

    @rpc
    def album(self, child_id: str, cursor: str | None = None, limit: int = 30) -> dict:
        """Return a page of a child's photos, newest first, and the cursor of the next page."""
        caller = self.caller()
        child, scope = self._album_child(caller, child_id)
        limit = max(1, min(int(limit or 30), ALBUM_PAGE_MAX))
        before = decode_cursor(cursor) if cursor else None
        items, next_position = self._album_items(caller, scope, child, before, limit)
        with atomic(self.db):
            for item in items:
                self._audit(caller, AuditAction.VIEW, uuid.UUID(item["id"]), {"child_id": str(child)})
        return {"items": items, "next_cursor": next_position}

    def _album_items(self, caller: Caller, scope: dict, child: uuid.UUID, before, limit: int):
        """Collect up to `limit` visible photos, reading further rows while consent hides some."""
        items: list[dict] = []
        batch = limit + 1
        for _round in range(10):
            rows = queries.list_album_page(self.db, child, before=before, limit=batch)
            if not rows:
                return items, None
            tags = queries.child_tags(self.db, [row.id for row in rows])
            consent = self._consent([c for ids in tags.values() for c in ids])
            for index, row in enumerate(rows):
                item = self._item_for(caller, scope, row, tags[row.id], consent)
                if item is not None:
                    items.append(item)
                if len(items) == limit:
                    more = index < len(rows) - 1 or len(rows) == batch
                    return items, encode_cursor(row) if more else None
            if len(rows) < batch:
                return items, None
            before = (rows[-1].taken_at, rows[-1].id)
        # NOTE: after ten batches of hidden photos the page ends short; the cursor continues.
        return items, encode_cursor(rows[-1])

    @rpc
    def zip_manifest(self, child_id: str, taken_from: str | None = None, taken_until: str | None = None) -> dict:
        """Return the originals of a child's photos the caller may see in a period, for a ZIP.

        Each entry has the storage key and a file name; the gateway streams the objects.
        Every photo in the manifest is audited as downloaded.
        """
        caller = self.caller()
        child, scope = self._album_child(caller, child_id)
        start = parse_bound(taken_from, "from", end=False)
        end = parse_bound(taken_until, "to", end=True)
        if start and end and start >= end:
            raise InvalidInput("photo_invalid_date_range")
        limit = self.settings.zip_max_photos
        rows = queries.list_album_page(self.db, child, before=None, limit=limit + 1, taken_from=start, taken_until=end)
        if len(rows) > limit:
            raise Unprocessable("photo_zip_too_many", limit=limit)
        tags = queries.child_tags(self.db, [row.id for row in rows])
        consent = self._consent([c for ids in tags.values() for c in ids])

        entries = []
        names: set[str] = set()
        for row in reversed(rows):
            tag_strings = [str(t) for t in tags[row.id]]
            if caller.is_guardian:
                visible = decide_for_guardian(row, tag_strings, guardian_child_ids(scope), consent).visible
            else:
                # Staff get what they may see, minus blocked photos, which must not leave as files.
                decision = decide_for_staff(row, tag_strings, set(scope.get("group_ids") or []), consent)
                visible = decision.visible and not decision.blocked
            if not visible or imaging.ORIGINAL_VARIANT not in (row.variants or {}):
                continue
            entries.append({"photo_id": str(row.id), "key": row.variants[imaging.ORIGINAL_VARIANT]["key"],
                            "filename": _unique_name(row, names), "taken_at": row.taken_at.isoformat()})
        with atomic(self.db):
            for entry in entries:
                self._audit(caller, AuditAction.DOWNLOAD, uuid.UUID(entry["photo_id"]),
                            {"variant": "original", "zip": True, "child_id": str(child)})
        return {"entries": entries}

    # Look-ups for other services.

    @rpc
    def photo_visibility(self, photo_ids: list[str]) -> dict:
        """Return {photo id: {"child_ids", "blocked", "status", "group_id"}} for known photos."""
        photos = queries.photos_by_ids(self.db, _uuid_list(photo_ids))
        tags = queries.child_tags(self.db, [photo.id for photo in photos])
        consent = self._consent([c for ids in tags.values() for c in ids])
        result = {}
        for photo in photos:
            child_ids = [str(c) for c in tags[photo.id]]
            result[str(photo.id)] = {
                "child_ids": child_ids,
                "blocked": any(not consent.get(child, False) for child in child_ids),
                "status": photo.status,
                "group_id": str(photo.group_id),
            }
        return result

    @rpc
    def visible_photos(self, photo_ids: list[str]) -> list[dict]:
        """Return the photos among `photo_ids` that the caller may see, with short-lived URLs."""
        caller = self.caller()
        return [item for item, _photo in self._visible(caller, photo_ids, include_blocked=True)]

    @rpc
    def keepsake_photo_urls(self, photo_ids: list[str]) -> dict:
        """Return {photo id: screen-size URL} of the photos the caller may see and none blocks."""
        caller = self.caller()
        return {
            item["id"]: item["screen_url"]
            for item, _photo in self._visible(caller, photo_ids, include_blocked=False)
            if item.get("screen_url")
        }

    def _visible(self, caller: Caller, photo_ids: list[str], include_blocked: bool):
        scope = self.accounts.access_scope()
        # NOTE: at most 500 ids are looked at per call; callers ask per page of a feed.
        photos = queries.photos_by_ids(self.db, _uuid_list(photo_ids)[:500])
        tags = queries.child_tags(self.db, [photo.id for photo in photos])
        consent = self._consent([c for ids in tags.values() for c in ids])
        shown, refused = [], []
        for photo in photos:
            item = self._item_for(caller, scope, photo, tags[photo.id], consent)
            if item is None or (caller.is_staff and item["status"] != PhotoStatus.READY):
                refused.append(photo)
                continue
            if item.get("blocked") and not include_blocked:
                continue
            shown.append((item, photo))
        with atomic(self.db):
            for item, photo in shown:
                self._audit(caller, AuditAction.VIEW, photo.id, {})
            for photo in refused:
                self._audit(caller, AuditAction.REFUSED, photo.id, {"reason": "not_visible"})
        return shown

    # Activity labels.

    @rpc
    def activity_labels(self) -> list[dict]:
        caller = self.caller().require_staff()
        return [label_dict(label) for label in queries.list_activity_labels(self.db, uuid.UUID(caller.organisation_id))]

    @rpc
    def create_activity_label(self, name_nl: str, name_en: str) -> dict:
        """Add an activity to the organisation's list; coordinators, unit managers and admins only."""
        caller = self.caller().require_staff()
        if not caller.has_role("coordinator", "unit_manager", "admin"):
            raise NotFound()
        name_nl, name_en = (name_nl or "").strip(), (name_en or "").strip()
        if not (0 < len(name_nl) <= 100 and 0 < len(name_en) <= 100):
            raise InvalidInput("photo_label_name_invalid")
        with atomic(self.db):
            label = ActivityLabel(
                organisation_id=uuid.UUID(caller.organisation_id), name_nl=name_nl, name_en=name_en,
                created_by=uuid.UUID(caller.account_id),
            )
            self.db.add(label)
            self.db.flush()
        return label_dict(label)

    @rpc
    def archive_activity_label(self, label_id: str) -> dict:
        """Remove an activity from the list; photos tagged with it keep the tag."""
        caller = self.caller().require_staff()
        if not caller.has_role("coordinator", "unit_manager", "admin"):
            raise NotFound()
        with atomic(self.db):
            label = self.db.get(ActivityLabel, parse_uuid(label_id), with_for_update=True) if parse_uuid(label_id) else None
            if label is None or str(label.organisation_id) != caller.organisation_id:
                raise NotFound()
            label.active = False
        return label_dict(label)

    # Processing.

    @event_handler("media", "photo_uploaded")
    def process_uploaded(self, payload: dict) -> None:
        """Make the derivatives of an uploaded photo; a redelivered event changes nothing more."""
        try:
            processing.process_photo(
                self.db, self.storage, self.settings, self.outbox, payload["photo_id"], payload["event_id"]
            )
        except StorageUnavailable as exc:
            # The photo stays processing, and retry_stuck_photos queues it again later.
            log.warning("photo.processing_deferred", photo_id=payload["photo_id"], error=str(exc)[:300])

    @timer(interval=60)
    def retry_stuck_photos(self) -> None:
        """Queue photos again whose processing stopped (storage down, process killed)."""
        cutoff = utcnow() - timedelta(seconds=self.settings.processing_retry_seconds)
        with atomic(self.db):
            stuck = queries.list_stuck_processing(self.db, cutoff)
            for photo in stuck:
                if photo.processing_attempts >= self.settings.processing_max_attempts:
                    processing.mark_stuck_failed(self.db, photo)
                    log.warning("photo.processing_gave_up", photo_id=str(photo.id), attempts=photo.processing_attempts)
                    continue
                photo.queued_at = utcnow()
                self.outbox.add(self.db, "photo_uploaded", {"photo_id": str(photo.id)})
                log.info("photo.processing_requeued", photo_id=str(photo.id), attempts=photo.processing_attempts)

    # Helpers.

    def _audit(self, caller: Caller | None, action: str, photo_id: uuid.UUID | None, details: dict) -> None:
        queries.insert_audit(
            self.db, action, photo_id=photo_id,
            account_id=uuid.UUID(caller.account_id) if caller else None,
            account_kind=caller.kind.value if caller else None,
            request_id=self.context.request_id, client_address=self.context.client_address, details=details,
        )

    def _audit_commit(self, caller: Caller | None, action: str, photo_id: uuid.UUID | None, details: dict) -> None:
        with atomic(self.db):
            self._audit(caller, action, photo_id, details)

    def _refuse(self, caller: Caller, photo_id: uuid.UUID | None, reason: Refusal, requested: str, **details) -> NotFound:
        """Audit a refusal and return the NotFound to raise."""
        self._audit_commit(caller, AuditAction.REFUSED, photo_id, {"reason": reason.value, "requested": requested[:100], **details})
        log.info("photo.refused", photo_id=requested[:100], reason=reason.value, account_id=caller.account_id)
        return NotFound()

    def _consent(self, child_ids) -> dict[str, bool]:
        ids = sorted({str(c) for c in child_ids})
        return self.accounts.children_consent(ids) if ids else {}

    def _decide_one(self, caller: Caller, photo_id: str):
        parsed = parse_uuid(photo_id)
        photo = queries.photo_by_id(self.db, parsed) if parsed else None
        tags = queries.child_tags(self.db, [photo.id])[photo.id] if photo else []
        scope = self.accounts.access_scope()
        consent = self._consent(tags)
        tag_strings = [str(t) for t in tags]
        if caller.is_guardian:
            decision = decide_for_guardian(photo, tag_strings, guardian_child_ids(scope), consent)
        else:
            decision = decide_for_staff(photo, tag_strings, set(scope.get("group_ids") or []), consent)
        if not decision.visible:
            raise self._refuse(
                caller, photo.id if photo else None, decision.refusal, str(photo_id),
                blocked_child_ids=list(decision.blocked_child_ids),
            )
        return photo, tags, decision, scope

    def _staff_photo_or_404(self, caller: Caller, photo_id: str) -> Photo:
        parsed = parse_uuid(photo_id)
        photo = queries.photo_by_id(self.db, parsed) if parsed else None
        scope = self.accounts.access_scope()
        if photo is None or photo.status == PhotoStatus.DELETED or str(photo.group_id) not in set(scope.get("group_ids") or []):
            raise self._refuse(caller, photo.id if photo else None, Refusal.UNKNOWN if photo is None else Refusal.OUT_OF_SCOPE, str(photo_id))
        return photo

    def _album_child(self, caller: Caller, child_id: str) -> tuple[uuid.UUID, dict]:
        scope = self.accounts.access_scope()
        child = parse_uuid(child_id)
        if caller.is_guardian:
            allowed = child is not None and str(child) in guardian_child_ids(scope)
        else:
            groups = sorted(scope.get("group_ids") or [])
            placed = self.accounts.children_of_groups(groups) if groups else {}
            allowed = child is not None and any(str(child) in ids for ids in placed.values())
        if not allowed:
            raise self._refuse(caller, None, Refusal.OUT_OF_SCOPE, str(child_id), child_id=str(child_id)[:100])
        return child, scope

def _inspect_bytes(data: bytes, max_pixels: int) -> imaging.ImageInfo:
    return imaging.inspect(io.BytesIO(data), max_pixels=max_pixels)


def _unique_ids(values) -> list[str]:
    result: list[str] = []
    for value in values or []:
        parsed = parse_uuid(value)
        if parsed is None:
            raise NotFound()
        if str(parsed) not in result:
            result.append(str(parsed))
    return result


def _uuid_list(values) -> list[uuid.UUID]:
    return [parsed for parsed in (parse_uuid(v) for v in values or []) if parsed is not None]


def _unique_name(photo: Photo, taken: set[str]) -> str:
    local = photo.taken_at.astimezone(AMSTERDAM)
    base = f"{local:%Y-%m-%d_%H%M%S}"
    name, counter = f"{base}.jpg", 2
    while name in taken:
        name, counter = f"{base}_{counter}.jpg", counter + 1
    taken.add(name)
    return name

