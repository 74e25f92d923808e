"""News items and newsletters for an organisation, locations or groups, with PDF attachments."""

from __future__ import annotations

import base64
import enum
import uuid
from datetime import datetime, timedelta

import structlog
from nameko.timer import timer
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from samen_common.auth import AccountKind, Caller
from samen_common.db import atomic
from samen_common.errors import Forbidden, InvalidInput, NotFound, SamenError
from samen_common.outbox import claim_event
from samen_common.rpc import rpc
from samen_common.staff_consumer import EventRejected, staff_event
from samen_common.timeutil import utcnow
from samen_messaging import access, queries
from samen_messaging.base import MessagingBase, check_time_window, field_error, iso, parse_optional_time
from samen_messaging.documents import checked_upload
from samen_messaging.models import HandledEvent, NewsAttachment, NewsItem, NewsRead
from samen_messaging.settings import messaging_settings
from samen_messaging.timeline import ItemKind

log = structlog.get_logger(__name__)

EXCERPT_CHARS = 200
# `publish_at` may lie this far back (it then publishes at once, as a late staff-tool event
# does) or this far ahead.
PUBLISH_AT_MAX_PAST = timedelta(days=1)
PUBLISH_AT_MAX_AHEAD = timedelta(days=366)


class NewsKind(enum.StrEnum):
    ITEM = "item"
    """A short news item."""
    NEWSLETTER = "newsletter"
    """A newsletter, usually with a PDF attachment."""


class NewsMixin(MessagingBase):
    @rpc
    def create_news(self, title: str, body: str, kind: str = "item", location_ids: list[str] | None = None,
                    group_ids: list[str] | None = None, publish_at: str | None = None) -> dict:
        """Write a news item, published now or by the scheduler once `publish_at` has passed."""
        caller = self.caller().require_staff()
        news = self._checked_news(caller, self._scope(), title, body, kind, location_ids, group_ids,
                                  parse_optional_time(publish_at, "publish_at"))
        with atomic(self.db):
            item = self._insert_news(caller, **news)
        return self._news_dict(item, [], None)

    @staff_event("news_published")
    def on_staff_news_published(self, event: dict) -> None:
        """Create news sent by the coordinator's tool through the same checks as `create_news`.

        The actor (`actor_account_number`) must be an active staff member whose roles allow the
        audience, exactly as for the HTTP API. The actor's scope is fetched from accounts before
        the transaction starts, so no database connection waits on the broker.
        """
        handler = "messaging.on_staff_news_published"
        event_id = str(event["event_id"])
        if self.db.get(HandledEvent, (event_id, handler)) is not None:
            log.info("staff_event.duplicate", handler=handler, event_id=event_id)
            return
        self.db.rollback()
        scope = self._actor_scope(event["actor_account_number"])
        actor = Caller(account_id=scope["account_id"], kind=AccountKind.STAFF,
                       organisation_id=scope["organisation_id"], roles=frozenset(scope.get("roles", [])))
        try:
            news = self._checked_news(actor, scope, event["title"], event["body"], event.get("kind"),
                                      [str(v) for v in event.get("location_ids") or []],
                                      [str(v) for v in event.get("group_ids") or []], event.get("publish_at"))
        except (NotFound, Forbidden):
            raise EventRejected("actor_not_allowed", actor_account_number=event["actor_account_number"],
                                location_ids=[str(v) for v in event.get("location_ids") or []],
                                group_ids=[str(v) for v in event.get("group_ids") or []]) from None
        except SamenError as exc:
            raise EventRejected("news_invalid", code=exc.code, params=exc.params) from None

        with atomic(self.db):
            if not claim_event(self.db, HandledEvent, event_id, handler):
                log.info("staff_event.duplicate", handler=handler, event_id=event_id)
                return
            item = self._insert_news(actor, **news)
        log.info("staff_event.applied", event_type="news_published", event_id=event_id, news_id=str(item.id),
                 published=item.published_at is not None)

    def _actor_scope(self, account_number: str) -> dict:
        """Return the staff scope of the account number that sent a staff-tool event.

        `accounts.scope_of_account_number` raises NotFound for an unknown or inactive account.
        """
        try:
            scope = self.accounts.scope_of_account_number(account_number)
        except NotFound:
            raise EventRejected("actor_unknown", actor_account_number=account_number) from None
        if scope.get("kind") != "staff":
            raise EventRejected("actor_unknown", actor_account_number=account_number)
        return scope

    def _checked_news(self, caller: Caller, scope: dict, title: str | None, body: str | None, kind: str | None,
                      location_ids, group_ids, publish_at: datetime | None) -> dict:
        """Check a news item's fields and the author's right to its audience; return the cleaned fields."""
        settings = messaging_settings()
        title, body = (title or "").strip(), (body or "").strip()
        if not title or not body:
            raise InvalidInput("news_title_missing")
        if len(title) > settings.news_title_max_chars:
            raise InvalidInput("message_too_long", length=len(title), limit=settings.news_title_max_chars)
        if len(body) > settings.news_body_max_chars:
            raise InvalidInput("message_too_long", length=len(body), limit=settings.news_body_max_chars)
        try:
            kind = NewsKind(kind or NewsKind.ITEM).value
        except ValueError:
            raise field_error("invalid_input", "kind", value=kind) from None
        if publish_at is not None:
            check_time_window(publish_at, "publish_at", utcnow(), PUBLISH_AT_MAX_PAST, PUBLISH_AT_MAX_AHEAD)
        locations = [str(access.parse_id(value)) for value in dict.fromkeys(location_ids or [])]
        groups = [str(access.parse_id(value)) for value in dict.fromkeys(group_ids or [])]
        access.require_news_audience(caller, scope, locations, groups)
        return {"title": title, "body": body, "kind": kind, "location_ids": locations, "group_ids": groups,
                "publish_at": publish_at}

    def _insert_news(self, author: Caller, title: str, body: str, kind: str, location_ids: list[str],
                     group_ids: list[str], publish_at: datetime | None) -> NewsItem:
        """Insert a news item in the caller's transaction and publish it when its time has come."""
        now = utcnow()
        item = NewsItem(
            id=uuid.uuid4(), organisation_id=uuid.UUID(author.organisation_id),
            location_ids=[uuid.UUID(v) for v in location_ids], group_ids=[uuid.UUID(v) for v in group_ids],
            kind=kind, title=title, body=body, author_id=uuid.UUID(author.account_id),
            publish_at=publish_at or now, created_at=now,
        )
        self.db.add(item)
        if item.publish_at <= now:
            self._publish(item, now)
        return item

    @rpc
    def add_news_attachment(self, news_id: str, filename: str, storage_key: str, size: int) -> dict:
        """Attach a PDF that the gateway stored under `storage_key` to a news item of the caller's organisation."""
        settings = messaging_settings()
        item = self._news_for_staff(news_id)
        key, size = checked_upload(storage_key, size, settings.attachment_max_bytes)
        with atomic(self.db):
            count = len(self.db.scalars(select(NewsAttachment.id).where(NewsAttachment.news_id == item.id)).all())
            if count >= settings.attachments_per_news:
                raise InvalidInput("attachment_too_many", limit=settings.attachments_per_news)
            attachment = NewsAttachment(
                id=uuid.uuid4(), news_id=item.id, filename=_safe_filename(filename), content_type="application/pdf",
                size=size, storage_key=key, created_at=utcnow(),
            )
            self.db.add(attachment)
        log.info("news.attachment_added", news_id=str(item.id), attachment_id=str(attachment.id), size=size)
        return _attachment_dict(attachment)

    @rpc
    def list_news(self) -> list[dict]:
        """List news: a guardian's published news with read state, or staff's news of their organisation."""
        caller = self.caller()
        scope = self._scope()
        if caller.is_guardian:
            items = self._guardian_news(scope)
            read = queries.news_read_ids(self.db, uuid.UUID(caller.account_id), [i.id for i in items])
            return [self._news_dict(item, self._attachments(item.id), item.id in read) for item in items]
        items = self.db.scalars(
            select(NewsItem).where(NewsItem.organisation_id == uuid.UUID(caller.organisation_id))
            .order_by(NewsItem.publish_at.desc(), NewsItem.id.desc()).limit(200)
        ).all()
        items = [item for item in items if self._staff_sees(scope, item, caller.account_id)]
        counts = queries.news_read_counts(self.db, [item.id for item in items])
        return [
            {**self._news_dict(item, self._attachments(item.id), None), "read_count": counts.get(item.id, 0)}
            for item in items
        ]

    @rpc
    def get_news(self, news_id: str) -> dict:
        """Return one news item and, for a guardian, record that they read it."""
        caller = self.caller()
        item = self._news_for_caller(news_id)
        if caller.is_guardian:
            with atomic(self.db):
                self.db.execute(
                    insert(NewsRead)
                    .values(news_id=item.id, guardian_id=uuid.UUID(caller.account_id), read_at=utcnow())
                    .on_conflict_do_nothing()
                )
            return self._news_dict(item, self._attachments(item.id), True)
        counts = queries.news_read_counts(self.db, [item.id])
        return {**self._news_dict(item, self._attachments(item.id), None), "read_count": counts.get(item.id, 0)}

    @rpc
    def news_attachment(self, news_id: str, attachment_id: str) -> dict:
        item = self._news_for_caller(news_id)
        attachment = self.db.get(NewsAttachment, access.parse_id(attachment_id))
        if attachment is None or attachment.news_id != item.id:
            raise NotFound()
        if attachment.storage_key is None:
            # Attachments stored before object storage keep their bytes in this database.
            return {**_attachment_dict(attachment), "content_base64": base64.b64encode(attachment.content).decode()}
        return {**_attachment_dict(attachment), "key": attachment.storage_key}

    @timer(interval=messaging_settings().news_scheduler_interval)
    def publish_due_news(self) -> int:
        """Publish scheduled news whose time has come. Locked rows are skipped, so two processes never publish one item."""
        now = utcnow()
        with atomic(self.db):
            due = queries.due_news_for_update(self.db, now)
            for item in due:
                self._publish(item, now)
        if due:
            log.info("news.scheduled_published", count=len(due))
        return len(due)

    # Helpers.

    def _publish(self, item: NewsItem, now) -> None:
        item.published_at = now
        queries.upsert_timeline_item(
            self.db, kind=ItemKind.NEWS.value, ref_id=item.id, child_id=None, organisation_id=item.organisation_id,
            location_ids=list(item.location_ids), group_ids=list(item.group_ids), occurred_at=now,
            summary={"title": item.title, "kind": item.kind, "excerpt": item.body[:EXCERPT_CHARS]},
        )
        self.outbox.add(self.db, "news_published", {
            "news_id": str(item.id), "organisation_id": str(item.organisation_id),
            "location_ids": [str(v) for v in item.location_ids], "group_ids": [str(v) for v in item.group_ids],
            "published_at": now.isoformat(),
        })
        log.info("news.published", news_id=str(item.id))

    def _guardian_news(self, scope: dict) -> list[NewsItem]:
        caller = self.caller()
        children = scope.get("children", [])
        location_ids = [uuid.UUID(c["location_id"]) for c in children if c.get("location_id")]
        group_ids = [uuid.UUID(c["group_id"]) for c in children if c.get("group_id")]
        if not children:
            return []
        return list(queries.news_for_audience(self.db, uuid.UUID(caller.organisation_id), location_ids, group_ids))

    @staticmethod
    def _staff_sees(scope: dict, item: NewsItem, account_id: str) -> bool:
        if str(item.author_id) == account_id or scope.get("organisation_wide"):
            return True
        if not item.location_ids and not item.group_ids:
            return True
        managed = set(scope.get("managed_location_ids", []))
        groups = set(scope.get("group_ids", []))
        return any(str(v) in managed for v in item.location_ids) or any(str(v) in groups for v in item.group_ids)

    def _news_for_caller(self, news_id: str) -> NewsItem:
        caller = self.caller()
        item = self.db.get(NewsItem, access.parse_id(news_id))
        if item is None or str(item.organisation_id) != caller.organisation_id:
            raise NotFound()
        scope = self._scope()
        if caller.is_guardian:
            if item.published_at is None or item.id not in {i.id for i in self._guardian_news(scope)}:
                raise NotFound()
        elif not self._staff_sees(scope, item, caller.account_id):
            raise NotFound()
        return item

    def _news_for_staff(self, news_id: str) -> NewsItem:
        caller = self.caller().require_staff()
        item = self._news_for_caller(news_id)
        access.require_news_audience(caller, self._scope(), [str(v) for v in item.location_ids],
                                     [str(v) for v in item.group_ids])
        return item

    def _attachments(self, news_id: uuid.UUID) -> list[dict]:
        rows = self.db.execute(
            select(NewsAttachment.id, NewsAttachment.filename, NewsAttachment.content_type, NewsAttachment.size)
            .where(NewsAttachment.news_id == news_id).order_by(NewsAttachment.created_at)
        ).all()
        return [{"id": str(r.id), "filename": r.filename, "content_type": r.content_type, "size": r.size} for r in rows]

    @staticmethod
    def _news_dict(item: NewsItem, attachments: list[dict], read: bool | None) -> dict:
        result = {
            "id": str(item.id), "kind": item.kind, "title": item.title, "body": item.body,
            "organisation_id": str(item.organisation_id),
            "location_ids": [str(v) for v in item.location_ids], "group_ids": [str(v) for v in item.group_ids],
            "author_id": str(item.author_id), "publish_at": iso(item.publish_at),
            "published_at": iso(item.published_at), "attachments": attachments,
        }
        if read is not None:
            result["read"] = read
        return result


def _attachment_dict(attachment: NewsAttachment) -> dict:
    return {"id": str(attachment.id), "filename": attachment.filename, "content_type": attachment.content_type,
            "size": attachment.size}


def _safe_filename(filename: str | None) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '";')[:150]
    return name or "attachment.pdf"
