"""The notebook (schriftje): entries per child, reactions, saved entries and the keepsake PDF."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

import eventlet
import requests
import structlog
from eventlet import tpool

from samen_common.auth import AccountKind, StaffRole
from samen_common.db import atomic
from samen_common.errors import Forbidden, InvalidInput, NotFound, PayloadTooLarge, ServiceUnavailable
from samen_common.rpc import rpc
from samen_common.timeutil import AMSTERDAM, local_today, utcnow
from samen_messaging import access, queries
from samen_media.settings import shared_storage
from samen_media.storage import StorageError, new_object_key, variant_key
from samen_messaging.base import (
    MEDIA_FAILURES,
    MessagingBase,
    check_period,
    check_time_window,
    iso,
    parse_date,
    parse_optional_time,
)
from samen_messaging.keepsake import ITEM_KEYS, KeepsakeEntry, KeepsakeRequest, render_keepsake
from samen_messaging.models import NotebookEntry, NotebookReaction, NotebookSave
from samen_messaging.settings import messaging_settings
from samen_messaging.timeline import ItemKind

log = structlog.get_logger(__name__)

EXCERPT_CHARS = 140
DOWNLOAD_CONCURRENCY = 6
# Keepsake PDFs stay in the media object storage under this prefix until the gateway has
# streamed them. The gateway checks the prefix before it reads a key from a reply.
KEEPSAKE_KEY_KIND = "keepsakes"
# A notebook entry may be dated at most this far ahead, for clocks of devices that run fast.
WRITTEN_AT_MAX_AHEAD = timedelta(days=1)


def clean_entry(text: str | None, items: dict | None, photo_count: int) -> tuple[str, dict]:
    """Check an entry's text and items of the day. An entry needs text, an item or a photo."""
    settings = messaging_settings()
    text = (text or "").strip()
    if len(text) > settings.notebook_text_max_chars:
        raise InvalidInput("notebook_entry_too_long", length=len(text), limit=settings.notebook_text_max_chars)
    cleaned = {}
    for key, value in (items or {}).items():
        if key not in ITEM_KEYS:
            raise InvalidInput("notebook_item_unknown", item=key, allowed=", ".join(ITEM_KEYS))
        value = str(value or "").strip()
        if len(value) > settings.notebook_item_max_chars:
            raise InvalidInput("notebook_item_too_long", item=key, limit=settings.notebook_item_max_chars)
        if value:
            cleaned[key] = value
    if not text and not cleaned and not photo_count:
        raise InvalidInput("notebook_entry_empty")
    return text, cleaned


def parse_written_at(value: str | None) -> datetime:
    """Parse an entry's `written_at` (default now), rejecting times far in the past or over a day ahead."""
    now = utcnow()
    written = parse_optional_time(value, "written_at")
    if written is None:
        return now
    past = timedelta(days=messaging_settings().notebook_max_backdate_days)
    return check_time_window(written, "written_at", now, past, WRITTEN_AT_MAX_AHEAD)


def store_keepsake(pdf: bytes) -> str:
    """Write a keepsake PDF to object storage under a fresh random key and return the key.

    Raises ServiceUnavailable (503) when storage fails.
    """
    key = variant_key(new_object_key(KEEPSAKE_KEY_KIND), "notebook", "pdf")
    try:
        shared_storage().put(key, pdf, "application/pdf")
    except StorageError as exc:
        log.warning("notebook.keepsake_store_failed", error=str(exc)[:200], bytes=len(pdf))
        raise ServiceUnavailable("keepsake_storage_unavailable") from exc
    return key


def local_day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Return the instants that start `start` and end `end` (inclusive) in Europe/Amsterdam."""
    return (
        datetime.combine(start, time.min, tzinfo=AMSTERDAM),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=AMSTERDAM),
    )


class NotebookMixin(MessagingBase):
    @rpc
    def add_notebook_entry(self, child_id: str, text: str | None = None, items: dict | None = None,
                           photo_ids: list[str] | None = None, written_at: str | None = None) -> dict:
        """Write an entry about one child: staff of the child's group, or a guardian where allowed."""
        caller = self.caller()
        written = parse_written_at(written_at)
        child = self._child_for_caller(child_id)
        if caller.kind is AccountKind.GUARDIAN and not self._guardian_entries_allowed(caller.organisation_id):
            raise Forbidden("notebook_guardian_entries_off")
        photos = self._check_photo_ids(photo_ids, messaging_settings().notebook_max_photos)
        text, items = clean_entry(text, items, len(photos))

        with atomic(self.db):
            entry = self._add_entry(child["id"], child.get("group_id"), text, items, photos, written, None)
        return self._entry_dict(entry, {}, [], set(), {})

    @rpc
    def add_group_notebook_entries(self, group_id: str, child_ids: list[str], text: str | None = None,
                                   items: dict | None = None, photo_ids: list[str] | None = None,
                                   written_at: str | None = None) -> dict:
        """Write the same entry for several children of a group: one entry per child.

        Each entry belongs to one child only, so each family sees only its own child's entry.
        """
        caller = self.caller().require_staff()
        settings = messaging_settings()
        access.parse_id(group_id)
        access.require_staff_group(self._scope(), group_id)
        wanted = list(dict.fromkeys(str(child_id) for child_id in child_ids or []))
        if not wanted:
            raise InvalidInput("notebook_children_missing")
        if len(wanted) > settings.notebook_bulk_max_children:
            raise InvalidInput("too_many_children", limit=settings.notebook_bulk_max_children)
        in_group = set(self.accounts.children_of_groups([group_id]).get(group_id, []))
        if any(child_id not in in_group for child_id in wanted):
            raise NotFound()
        written = parse_written_at(written_at)
        photos = self._check_photo_ids(photo_ids, settings.notebook_max_photos)
        text, items = clean_entry(text, items, len(photos))

        batch_id = uuid.uuid4()
        with atomic(self.db):
            entries = [self._add_entry(child_id, group_id, text, items, photos, written, batch_id) for child_id in wanted]
        log.info("notebook.batch_added", batch_id=str(batch_id), group_id=group_id, entries=len(entries),
                 author_id=caller.account_id)
        return {
            "batch_id": str(batch_id),
            "entries": [{"id": str(entry.id), "child_id": str(entry.child_id)} for entry in entries],
        }

    @rpc
    def notebook(self, child_id: str, date_from: str | None = None, date_to: str | None = None,
                 saved_only: bool = False) -> list[dict]:
        """List a child's entries, newest first, with reactions and the photos the caller may see."""
        caller = self.caller()
        self._child_for_caller(child_id)
        start, end = self._optional_period(date_from, date_to)
        saved_by = uuid.UUID(caller.account_id) if saved_only and caller.is_guardian else None
        entries = queries.list_entries(self.db, uuid.UUID(child_id), start, end, saved_by=saved_by)
        return self._entries_response(entries)

    @rpc
    def get_notebook_entry(self, entry_id: str) -> dict:
        entry = self._entry_for_caller(entry_id)
        return self._entries_response([entry])[0]

    @rpc
    def react_to_notebook_entry(self, entry_id: str, text: str) -> dict:
        caller = self.caller()
        entry = self._entry_for_caller(entry_id)
        text = (text or "").strip()
        if not text:
            raise InvalidInput("reaction_empty")
        limit = messaging_settings().message_max_chars
        if len(text) > limit:
            raise InvalidInput("message_too_long", length=len(text), limit=limit)
        with atomic(self.db):
            reaction = NotebookReaction(
                id=uuid.uuid4(), entry_id=entry.id, author_id=uuid.UUID(caller.account_id),
                author_kind=caller.kind.value, text=text, created_at=utcnow(),
            )
            self.db.add(reaction)
        return self._reaction_dict(reaction, {})

    @rpc
    def save_notebook_entry(self, entry_id: str, saved: bool = True) -> dict:
        """Save (or unsave) an entry for the calling guardian. Saving twice keeps one save."""
        caller = self.caller().require_guardian()
        entry = self._entry_for_caller(entry_id)
        guardian_id = uuid.UUID(caller.account_id)
        with atomic(self.db):
            existing = self.db.get(NotebookSave, (entry.id, guardian_id))
            if saved and existing is None:
                self.db.add(NotebookSave(entry_id=entry.id, guardian_id=guardian_id, saved_at=utcnow()))
            if not saved and existing is not None:
                self.db.delete(existing)
        return {"entry_id": str(entry.id), "saved": bool(saved)}

    @rpc
    def get_settings(self) -> dict:
        caller = self.caller()
        return {"guardian_notebook_entries": self._guardian_entries_allowed(caller.organisation_id)}

    @rpc
    def update_settings(self, guardian_notebook_entries: bool) -> dict:
        """Change the organisation's messaging settings, which only an organisation administrator may do."""
        caller = self.caller().require_staff()
        if not caller.has_role(StaffRole.ADMIN):
            raise Forbidden()
        with atomic(self.db):
            queries.upsert_organisation_settings(
                self.db, uuid.UUID(caller.organisation_id), bool(guardian_notebook_entries),
                uuid.UUID(caller.account_id), utcnow(),
            )
        return self.get_settings()

    @rpc
    def notebook_keepsake(self, child_id: str, date_from: str | None = None, date_to: str | None = None) -> dict:
        """Render the child's notebook of a period as a PDF with the photos this caller may see.

        The PDF is written to object storage (see `store_keepsake`), so no PDF or photo bytes
        travel over RabbitMQ. The reply carries the storage `key`, which the gateway streams to
        the client and then deletes.
        """
        settings = messaging_settings()
        child = self._child_for_caller(child_id)
        end = parse_date(date_to, "to") or local_today()
        start = parse_date(date_from, "from") or end - timedelta(days=30)
        check_period(start, end, settings.keepsake_max_days)

        begin, finish = local_day_bounds(start, end)
        entries = sorted(queries.list_entries(self.db, uuid.UUID(child["id"]), begin, finish), key=lambda e: e.written_at)
        reactions = queries.reactions_of(self.db, [e.id for e in entries])
        self.db.rollback()
        names = self._names([e.author_id for e in entries] + [r.author_id for rs in reactions.values() for r in rs])

        photo_ids = list(dict.fromkeys(p for e in entries for p in e.photo_ids))[: settings.keepsake_max_photos]
        # NOTE: photos past SAMEN_KEEPSAKE_MAX_PHOTOS in the period are left out without a notice in the PDF.
        photos = self._download_keepsake_photos(photo_ids)

        request = KeepsakeRequest(
            child_name=f"{child.get('first_name', '')} {child.get('last_name', '')}".strip(),
            child_birth_date=date.fromisoformat(child["birth_date"]),
            period_start=start, period_end=end, language=self.context.language,
            entries=[
                KeepsakeEntry(
                    written_at=entry.written_at, author_name=names.get(str(entry.author_id), ""),
                    text=entry.text, items=dict(entry.items or {}),
                    photos=[photos[p] for p in entry.photo_ids if p in photos],
                    reactions=[f"{names.get(str(r.author_id), '')}: {r.text}" for r in reactions.get(entry.id, [])],
                )
                for entry in entries
            ],
            organisation_name=child.get("location_name") or "",
            generated_at=utcnow(),
        )
        pdf = tpool.execute(render_keepsake, request)
        if len(pdf) > settings.keepsake_max_bytes:
            raise PayloadTooLarge("keepsake_too_large")
        key = store_keepsake(pdf)
        log.info("notebook.keepsake_rendered", child_id=child["id"], entries=len(entries), photos=len(photos),
                 bytes=len(pdf), key=key)
        return {
            "filename": f"notebook-{start.isoformat()}-{end.isoformat()}.pdf",
            "key": key,
            "size": len(pdf),
        }

    # Helpers.

    def _guardian_entries_allowed(self, organisation_id: str) -> bool:
        row = queries.organisation_settings(self.db, uuid.UUID(organisation_id)) if organisation_id else None
        if row is None:
            return messaging_settings().guardian_notebook_entries_default
        return row.guardian_notebook_entries

    def _optional_period(self, date_from: str | None, date_to: str | None):
        start_day, end_day = parse_date(date_from, "from"), parse_date(date_to, "to")
        if start_day and end_day:
            check_period(start_day, end_day, messaging_settings().notebook_max_period_days)
        start = local_day_bounds(start_day, start_day)[0] if start_day else None
        end = local_day_bounds(end_day, end_day)[1] if end_day else None
        return start, end

    def _entry_for_caller(self, entry_id: str) -> NotebookEntry:
        entry = self.db.get(NotebookEntry, access.parse_id(entry_id))
        if entry is None or not self._may_see_child(entry.child_id, None):
            log.warning("access.notebook_entry_not_found", entry_id=str(entry_id), account_id=self.caller().account_id,
                        exists=entry is not None)
            raise NotFound()
        return entry

    def _add_entry(self, child_id: str, group_id: str | None, text: str, items: dict, photo_ids: list[str],
                   written_at: datetime, batch_id: uuid.UUID | None) -> NotebookEntry:
        caller = self.caller()
        entry = NotebookEntry(
            id=uuid.uuid4(), child_id=uuid.UUID(child_id), group_id=uuid.UUID(group_id) if group_id else None,
            organisation_id=uuid.UUID(caller.organisation_id), author_id=uuid.UUID(caller.account_id),
            author_kind=caller.kind.value, text=text, items=items, photo_ids=photo_ids,
            written_at=written_at, batch_id=batch_id, created_at=utcnow(),
        )
        self.db.add(entry)
        queries.upsert_timeline_item(
            self.db, kind=ItemKind.NOTEBOOK.value, ref_id=entry.id, child_id=entry.child_id, group_id=entry.group_id,
            occurred_at=written_at,
            summary={"excerpt": text[:EXCERPT_CHARS], "items": sorted(items), "photo_count": len(photo_ids),
                     "author_kind": entry.author_kind},
        )
        self.outbox.add(self.db, "notebook_entry_added", {
            "entry_id": str(entry.id), "child_id": str(entry.child_id),
            "group_id": str(entry.group_id) if entry.group_id else None, "author_id": str(entry.author_id),
        })
        return entry

    def _entries_response(self, entries: list[NotebookEntry]) -> list[dict]:
        caller = self.caller()
        ids = [entry.id for entry in entries]
        reactions = queries.reactions_of(self.db, ids)
        saved = queries.saved_entry_ids(self.db, uuid.UUID(caller.account_id), ids) if caller.is_guardian else set()
        names = self._names([e.author_id for e in entries] + [r.author_id for rs in reactions.values() for r in rs])
        visible = self._visible_photos(p for entry in entries for p in entry.photo_ids)
        return [self._entry_dict(entry, names, reactions.get(entry.id, []), saved, visible) for entry in entries]

    def _entry_dict(self, entry: NotebookEntry, names: dict, reactions: list, saved: set, visible) -> dict:
        return {
            "id": str(entry.id), "child_id": str(entry.child_id),
            "group_id": str(entry.group_id) if entry.group_id else None,
            "author_id": str(entry.author_id), "author_kind": entry.author_kind,
            "author_name": names.get(str(entry.author_id)), "text": entry.text, "items": dict(entry.items or {}),
            "photos": self._photo_list(entry.photo_ids, visible), "photos_unavailable": visible is None,
            "written_at": iso(entry.written_at), "saved": entry.id in saved,
            "reactions": [self._reaction_dict(reaction, names) for reaction in reactions],
        }

    @staticmethod
    def _reaction_dict(reaction: NotebookReaction, names: dict) -> dict:
        return {
            "id": str(reaction.id), "author_id": str(reaction.author_id), "author_kind": reaction.author_kind,
            "author_name": names.get(str(reaction.author_id)), "text": reaction.text,
            "created_at": iso(reaction.created_at),
        }

    def _download_keepsake_photos(self, photo_ids: list[str]) -> dict[str, bytes]:
        """Download the screen-size JPEGs that media allows for this caller. A failed download leaves its photo out."""
        if not photo_ids:
            return {}
        try:
            urls = self.media.keepsake_photo_urls(photo_ids) or {}
        except MEDIA_FAILURES as exc:
            log.warning("media.keepsake_photo_urls_failed", error=str(exc)[:200], photos=len(photo_ids))
            return {}
        timeout = messaging_settings().photo_download_timeout

        def fetch(item):
            photo_id, url = item
            try:
                response = requests.get(url, timeout=timeout)
                response.raise_for_status()
                return photo_id, response.content
            except requests.RequestException as exc:
                log.warning("keepsake.photo_download_failed", photo_id=photo_id, error=str(exc)[:200])
                return photo_id, None

        pool = eventlet.GreenPool(DOWNLOAD_CONCURRENCY)
        wanted = [(str(k), v) for k, v in urls.items() if str(k) in set(photo_ids) and v]
        return {photo_id: data for photo_id, data in pool.imap(fetch, wanted) if data}
