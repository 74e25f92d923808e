"""The guardian timeline: a read model of photos, notebook entries, messages, news and requests.

Rows come from this service's own writes (in the same transaction) and from the events of media,
requests and accounts (check-ins and check-outs). A page is read newest first with a keyset
cursor over (occurred_at, ref_id), and photo rows are checked against photo consent and media's
visibility when they are read. The guardian's scope and children's consent come from the
short-lived caches in `cache.py`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import uuid
from datetime import datetime

import structlog
from nameko.events import event_handler

from samen_common import i18n
from samen_common.auth import Caller
from samen_common.db import atomic
from samen_common.errors import InvalidInput
from samen_common.outbox import claim_event
from samen_common.rpc import rpc
from samen_common.timeutil import AMSTERDAM, parse_aware
from samen_messaging import access, cache, queries
from samen_messaging.base import MessagingBase, iso
from samen_messaging.models import HandledEvent
from samen_messaging.settings import messaging_settings

log = structlog.get_logger(__name__)

# How many times one request reads further when consent checks emptied part of a page.
MAX_FILL_ROUNDS = 4


class ItemKind(enum.StrEnum):
    PHOTO = "photo"
    """A published photo on which the child is tagged."""
    NOTEBOOK = "notebook"
    """A notebook (schriftje) entry about the child."""
    MESSAGE = "message"
    """A message in the thread of the child and its group."""
    NEWS = "news"
    """A published news item or newsletter whose audience includes the child."""
    REQUEST = "request"
    """A decision on a request about the child, or a reported absence."""
    CHECK_IN = "check_in"
    """The child was dropped off at the group (kiosk check-in)."""
    CHECK_OUT = "check_out"
    """The child was collected from the group (kiosk check-out)."""


def encode_cursor(occurred_at: datetime, ref_id: uuid.UUID) -> str:
    raw = json.dumps([occurred_at.isoformat(), str(ref_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Decode a cursor from encode_cursor, and raise InvalidInput (400) for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        occurred_at, ref_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return parse_aware(occurred_at, "cursor"), uuid.UUID(ref_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, InvalidInput):
        raise InvalidInput("invalid_cursor") from None


def _uuid_list(values) -> list[uuid.UUID]:
    result = []
    for value in values or []:
        try:
            result.append(uuid.UUID(str(value)))
        except (TypeError, ValueError):
            continue
    return result


class TimelineMixin(MessagingBase):
    @rpc
    def timeline(self, child_id: str | None = None, cursor: str | None = None, limit: int | None = None) -> dict:
        """Return one page of a guardian's timeline, newest first, and the cursor of the next page."""
        # NOTE: a page still costs the gateway's hop and media.visible_photos, which signs URLs per
        # caller. bench/timeline.py (full data set, 3 s rounds, shared 2-core machine under load)
        # measured 90 first pages/s with the caches and 17 without, against 3,350 and 2,140 for bare Flask.
        caller = self.caller().require_guardian()
        settings = messaging_settings()
        limit = max(1, min(int(limit or settings.timeline_page_size), settings.timeline_max_page_size))
        before = decode_cursor(cursor) if cursor else None

        scope = self._timeline_scope(caller)
        children = scope["children"]
        if child_id is not None:
            access.parse_id(child_id)
            children = [access.guardian_child(scope, child_id)]
        child_ids = [uuid.UUID(c["id"]) for c in children]
        location_ids = _uuid_list(c.get("location_id") for c in children)
        group_ids = _uuid_list(c.get("group_id") for c in children)
        organisation_id = uuid.UUID(caller.organisation_id) if caller.organisation_id else None

        items: list[dict] = []
        exhausted = False
        for _ in range(MAX_FILL_ROUNDS):
            wanted = limit - len(items)
            rows = queries.timeline_rows(
                self.db, child_ids=child_ids, organisation_id=organisation_id, location_ids=location_ids,
                group_ids=group_ids, before=before, limit=wanted,
            )
            page = _distinct_items(rows)[:wanted]
            if len(page) < wanted:
                exhausted = True
            if page:
                before = (page[-1]["occurred_at"], page[-1]["ref_id"])
            items.extend(self._visible_items(page))
            if exhausted or len(items) >= limit:
                break
        self.db.rollback()

        return {
            "items": items,
            "next_cursor": None if exhausted else encode_cursor(*before),
        }

    def _timeline_scope(self, caller: Caller) -> dict:
        """Return the guardian's scope from the per-process cache, asking accounts on a miss."""
        scope = cache.guardian_scopes.get(caller.account_id)
        if scope is None:
            scope = self._scope()
            cache.guardian_scopes.put(caller.account_id, scope, messaging_settings().timeline_cache_seconds)
        self._scope_cache = scope
        return scope

    def _visible_items(self, rows: list[dict]) -> list[dict]:
        """Drop photos that a tagged child's consent or media's rules hide, and shape the rest."""
        photo_rows = [row for row in rows if row["kind"] == ItemKind.PHOTO]
        hidden: set[uuid.UUID] = set()
        visible_photos: dict[str, dict] | None = {}
        if photo_rows:
            consent = self._photo_consent({str(child) for row in photo_rows for child in row["tagged_child_ids"]})
            for row in photo_rows:
                if not row["tagged_child_ids"] or not all(consent.get(str(c)) for c in row["tagged_child_ids"]):
                    hidden.add(row["ref_id"])
            visible_photos = self._visible_photos(str(row["ref_id"]) for row in photo_rows if row["ref_id"] not in hidden)

        items = []
        for row in rows:
            item = {
                "id": f"{row['kind']}:{row['ref_id']}", "kind": row["kind"], "ref_id": str(row["ref_id"]),
                "child_id": str(row["child_id"]) if row["child_id"] else None,
                "group_id": str(row["group_id"]) if row["group_id"] else None,
                "occurred_at": iso(row["occurred_at"]), "summary": dict(row["summary"] or {}),
            }
            if row["kind"] in (ItemKind.CHECK_IN, ItemKind.CHECK_OUT):
                item["text"] = self._attendance_text(row)
            if row["kind"] == ItemKind.PHOTO:
                if row["ref_id"] in hidden or visible_photos is None:
                    continue
                photo = visible_photos.get(str(row["ref_id"]))
                if photo is None:
                    continue
                item["photo"] = {"id": str(row["ref_id"]), "thumb_url": photo.get("thumb_url"),
                                 "screen_url": photo.get("screen_url")}
            items.append(item)
        return items

    def _photo_consent(self, child_ids: set[str]) -> dict[str, bool]:
        """Return {child id: consent now} for tagged children.

        The guardian's scope already carries the current consent of their own children, so
        accounts is asked only about other families' children on group photos.
        """
        consent = {c["id"]: bool(c.get("photo_consent")) for c in self._scope()["children"] if c["id"] in child_ids}
        for child_id in child_ids - set(consent):
            cached = cache.child_consent.get(child_id)
            if cached is not None:
                consent[child_id] = cached
        others = sorted(child_ids - set(consent))
        if others:
            fetched = self.accounts.children_consent(others)
            ttl = messaging_settings().timeline_cache_seconds
            for child_id, value in fetched.items():
                cache.child_consent.put(child_id, bool(value), ttl)
            consent.update(fetched)
        return consent

    def _attendance_text(self, row: dict) -> str:
        """Render a check-in or check-out in the reader's language, e.g. "Sam is om 8:15 gebracht."."""
        child = next((c for c in self._scope()["children"] if c["id"] == str(row["child_id"])), {})
        local = row["occurred_at"].astimezone(AMSTERDAM)
        params = {"child": child.get("first_name", ""), "time": f"{local.hour}:{local.minute:02d}"}
        summary = row["summary"] or {}
        if row["kind"] == ItemKind.CHECK_IN:
            return i18n.translate("timeline_checked_in", self.context.language, **params)
        if summary.get("collected_by"):
            return i18n.translate("timeline_checked_out_by", self.context.language,
                                  collected_by=summary["collected_by"], **params)
        return i18n.translate("timeline_checked_out", self.context.language, **params)

    # Events of accounts: check-ins and check-outs, and changes that make cached scopes stale.

    @event_handler("accounts", "child_checked_in")
    def on_child_checked_in(self, payload: dict) -> None:
        self._store_attendance(payload, ItemKind.CHECK_IN, "messaging.on_child_checked_in")

    @event_handler("accounts", "child_checked_out")
    def on_child_checked_out(self, payload: dict) -> None:
        self._store_attendance(payload, ItemKind.CHECK_OUT, "messaging.on_child_checked_out")

    @event_handler("accounts", "child_consent_changed")
    def on_child_consent_changed(self, payload: dict) -> None:
        self._evict_cached(payload, "messaging.on_child_consent_changed")

    @event_handler("accounts", "care_ended")
    def on_care_ended(self, payload: dict) -> None:
        self._evict_cached(payload, "messaging.on_care_ended")

    @event_handler("accounts", "guardian_added")
    def on_guardian_added(self, payload: dict) -> None:
        self._evict_cached(payload, "messaging.on_guardian_added")

    @event_handler("accounts", "guardian_removed")
    def on_guardian_removed(self, payload: dict) -> None:
        self._evict_cached(payload, "messaging.on_guardian_removed")

    @event_handler("accounts", "placement_changed")
    def on_placement_changed(self, payload: dict) -> None:
        self._evict_cached({**payload, "child_id": (payload.get("placement") or {}).get("child_id")},
                           "messaging.on_placement_changed")

    def _evict_cached(self, payload: dict, handler: str) -> None:
        """Drop this process's cached scopes and consent that the event makes stale.

        The claim keeps a redelivered event from being logged twice; evicting twice is harmless.
        """
        with atomic(self.db):
            if not claim_event(self.db, HandledEvent, payload["event_id"], handler):
                return
        if payload.get("child_id"):
            cache.evict_child(str(payload["child_id"]))
        if payload.get("guardian_id"):
            cache.guardian_scopes.evict(str(payload["guardian_id"]))
        log.info("timeline.cache_evicted", event_type=payload.get("event_type"), child_id=payload.get("child_id"))

    def _store_attendance(self, payload: dict, kind: ItemKind, handler: str) -> None:
        """Add a check-in or check-out row for the child, ordered by the time `at` it happened.

        The row stores only `collected_by` and ids. The sentence is rendered when a page is read,
        in the reader's language and with the child's current first name.
        """
        at = parse_aware(payload["at"], "at")
        summary = {"attendance_id": str(payload["attendance_id"]), "at": at.isoformat()}
        if kind == ItemKind.CHECK_OUT:
            summary["collected_by"] = (payload.get("collected_by") or "").strip()[:200] or None
        with atomic(self.db):
            if not claim_event(self.db, HandledEvent, payload["event_id"], handler):
                return
            queries.upsert_timeline_item(
                self.db, kind=kind.value, ref_id=uuid.UUID(str(payload["attendance_id"])),
                child_id=uuid.UUID(str(payload["child_id"])), group_id=uuid.UUID(str(payload["group_id"])),
                occurred_at=at, summary=summary,
            )
        log.info("timeline.attendance_added", kind=kind.value, attendance_id=str(payload["attendance_id"]),
                 child_id=str(payload["child_id"]))

    # Events of media and requests.

    @event_handler("media", "photo_published")
    def on_photo_published(self, payload: dict) -> None:
        child_ids = _uuid_list(payload.get("child_ids"))
        with atomic(self.db):
            if not claim_event(self.db, HandledEvent, payload["event_id"], "messaging.on_photo_published"):
                return
            self._store_photo(payload, child_ids, parse_aware(payload["published_at"], "published_at"))
        log.info("timeline.photo_added", photo_id=payload["photo_id"], children=len(child_ids))

    @event_handler("media", "photo_retagged")
    def on_photo_retagged(self, payload: dict) -> None:
        photo_id = uuid.UUID(payload["photo_id"])
        child_ids = _uuid_list(payload.get("child_ids"))
        with atomic(self.db):
            if not claim_event(self.db, HandledEvent, payload["event_id"], "messaging.on_photo_retagged"):
                return
            existing = self.db.scalars(queries.select_timeline_photo(photo_id)).first()
            if existing is None:
                # NOTE: a retag that arrives before its photo_published is dropped, and the publish
                # event then adds the photo with its original tags until the next retag.
                log.warning("timeline.retag_unknown_photo", photo_id=str(photo_id))
                return
            queries.delete_timeline_items(self.db, ItemKind.PHOTO.value, photo_id, keep_child_ids=child_ids)
            self._store_photo(
                {"photo_id": str(photo_id), "group_id": existing.group_id, "location_id": existing.summary.get("location_id"),
                 "uploaded_by": existing.summary.get("uploaded_by")},
                child_ids, existing.occurred_at,
            )
        log.info("timeline.photo_retagged", photo_id=str(photo_id), children=len(child_ids))

    @event_handler("media", "photo_deleted")
    def on_photo_deleted(self, payload: dict) -> None:
        with atomic(self.db):
            if not claim_event(self.db, HandledEvent, payload["event_id"], "messaging.on_photo_deleted"):
                return
            removed = queries.delete_timeline_items(self.db, ItemKind.PHOTO.value, uuid.UUID(payload["photo_id"]))
        log.info("timeline.photo_removed", photo_id=payload["photo_id"], rows=removed)

    @event_handler("requests", "request_decided")
    def on_request_decided(self, payload: dict) -> None:
        self._store_request(payload, "messaging.on_request_decided")

    @event_handler("requests", "absence_reported")
    def on_absence_reported(self, payload: dict) -> None:
        self._store_request(payload, "messaging.on_absence_reported")

    def _store_photo(self, payload: dict, child_ids: list[uuid.UUID], published_at: datetime) -> None:
        photo_id = uuid.UUID(str(payload["photo_id"]))
        group_id = _uuid_list([payload.get("group_id")])
        summary = {
            "photo_id": str(photo_id),
            "location_id": str(payload["location_id"]) if payload.get("location_id") else None,
            "uploaded_by": str(payload["uploaded_by"]) if payload.get("uploaded_by") else None,
        }
        for child_id in child_ids:
            queries.upsert_timeline_item(
                self.db, kind=ItemKind.PHOTO.value, ref_id=photo_id, child_id=child_id,
                group_id=group_id[0] if group_id else None, occurred_at=published_at,
                tagged_child_ids=child_ids, summary=summary,
            )

    def _store_request(self, payload: dict, handler: str) -> None:
        ref = payload.get("request_id") or payload.get("absence_id")
        child_ids = _uuid_list([payload.get("child_id")])
        if not ref or not child_ids:
            log.warning("timeline.request_event_incomplete", event_id=payload.get("event_id"), event_type=payload.get("event_type"))
            return
        summary = {
            key: value for key, value in payload.items()
            if key in ("kind", "state", "request_id") or "date" in key or key.endswith("_on")
        }
        summary["event_type"] = payload.get("event_type")
        with atomic(self.db):
            if not claim_event(self.db, HandledEvent, payload["event_id"], handler):
                return
            queries.upsert_timeline_item(
                self.db, kind=ItemKind.REQUEST.value, ref_id=uuid.UUID(str(ref)), child_id=child_ids[0],
                group_id=(_uuid_list([payload.get("group_id")]) or [None])[0],
                occurred_at=parse_aware(payload["occurred_at"], "occurred_at"), summary=summary,
            )


def _distinct_items(rows: list) -> list[dict]:
    """Keep the first row of each (kind, ref_id): a photo of two of one family's children is one item."""
    seen: set[tuple[str, uuid.UUID]] = set()
    result = []
    for row in rows:
        key = (row["kind"], row["ref_id"])
        if key in seen:
            continue
        seen.add(key)
        result.append(dict(row))
    return result
