"""Group messages (berichten): one thread per child and group, read receipts, the staff inbox."""

from __future__ import annotations

import uuid

import structlog

from samen_common.auth import AccountKind
from samen_common.db import atomic
from samen_common.errors import InvalidInput, NotFound
from samen_common.rpc import rpc
from samen_common.timeutil import utcnow
from samen_messaging import access, queries
from samen_messaging.base import MessagingBase, iso
from samen_messaging.hours import message_notice
from samen_messaging.models import Message, Thread
from samen_messaging.settings import messaging_settings
from samen_messaging.timeline import ItemKind

log = structlog.get_logger(__name__)

EXCERPT_CHARS = 140


def clean_body(body: str | None) -> str:
    """Strip a message body and check it is neither empty nor longer than the limit."""
    text = (body or "").strip()
    if not text:
        raise InvalidInput("message_empty")
    limit = messaging_settings().message_max_chars
    if len(text) > limit:
        raise InvalidInput("message_too_long", length=len(text), limit=limit)
    return text


class ThreadsMixin(MessagingBase):
    @rpc
    def post_child_message(self, child_id: str, body: str, photo_ids: list[str] | None = None) -> dict:
        """Write to the staff of the child's current group, in the thread of that child and group."""
        caller = self.caller()
        text = clean_body(body)
        child = self._child_for_caller(child_id)
        if not child.get("group_id"):
            raise NotFound()
        photos = self._check_photo_ids(photo_ids, messaging_settings().message_max_photos)

        with atomic(self.db):
            thread = queries.upsert_thread(
                self.db, uuid.UUID(child["id"]), uuid.UUID(child["group_id"]), uuid.UUID(caller.organisation_id)
            )
            message = self._add_message(thread, text, photos)
        return self._posted_response(thread, message)

    @rpc
    def post_thread_message(self, thread_id: str, body: str, photo_ids: list[str] | None = None) -> dict:
        """Write in an existing thread, as a guardian of its child or as staff of its group."""
        text = clean_body(body)
        thread = self._thread_for_caller(thread_id)
        photos = self._check_photo_ids(photo_ids, messaging_settings().message_max_photos)

        with atomic(self.db):
            thread = self.db.get(Thread, thread.id, with_for_update=True)
            message = self._add_message(thread, text, photos)
        return self._posted_response(thread, message)

    @rpc
    def list_threads(self, group_id: str | None = None, child_id: str | None = None) -> list[dict]:
        """List the caller's threads with unread counts: a guardian's children, or a staff inbox."""
        caller = self.caller()
        scope = self._scope()
        if scope["kind"] == "guardian":
            child_ids = [c["id"] for c in scope["children"]]
            if child_id is not None:
                child_ids = [access.guardian_child(scope, child_id)["id"]]
            rows = queries.list_threads_with_unread(
                self.db, uuid.UUID(caller.account_id), child_ids=[uuid.UUID(c) for c in child_ids]
            )
        else:
            group_ids = scope["group_ids"]
            if group_id is not None:
                access.parse_id(group_id)
                access.require_staff_group(scope, group_id)
                group_ids = [group_id]
            rows = queries.list_threads_with_unread(
                self.db, uuid.UUID(caller.account_id), group_ids=[uuid.UUID(g) for g in group_ids]
            )
            if child_id is not None:
                rows = [row for row in rows if str(row[0].child_id) == str(child_id)]
        rows = [row for row in rows if row[2] > 0]
        return self._thread_summaries(rows)

    @rpc
    def get_thread(self, thread_id: str) -> dict:
        """Return a thread with every message and its read receipts, and mark the messages read."""
        caller = self.caller()
        thread = self._thread_for_caller(thread_id)
        now = utcnow()

        messages = queries.list_messages(self.db, thread.id)
        reader_id = uuid.UUID(caller.account_id)
        unread = [m.id for m in messages if m.author_id != reader_id]
        with atomic(self.db):
            queries.insert_reads(self.db, unread, reader_id, caller.kind.value, now)
        reads = queries.list_reads(self.db, [m.id for m in messages])

        names = self._names([m.author_id for m in messages] + [r.reader_id for r in reads])
        visible = self._visible_photos(p for m in messages for p in m.photo_ids)
        receipts: dict[uuid.UUID, list[dict]] = {}
        for read in reads:
            receipts.setdefault(read.message_id, []).append({
                "reader_id": str(read.reader_id), "reader_kind": read.reader_kind,
                "reader_name": names.get(str(read.reader_id)), "read_at": iso(read.read_at),
            })
        return {
            **self._thread_dict(thread),
            "photos_unavailable": visible is None,
            "messages": [
                {
                    **self._message_dict(message, names),
                    "photos": self._photo_list(message.photo_ids, visible),
                    "read_by": receipts.get(message.id, []),
                }
                for message in messages
            ],
        }

    def _thread_for_caller(self, thread_id: str) -> Thread:
        thread = self.db.get(Thread, access.parse_id(thread_id))
        if thread is None or not self._may_see_child(thread.child_id, thread.group_id):
            log.warning("access.thread_not_found", thread_id=str(thread_id), account_id=self.caller().account_id,
                        exists=thread is not None)
            raise NotFound()
        return thread

    def _add_message(self, thread: Thread, text: str, photo_ids: list[str]) -> Message:
        caller = self.caller()
        now = utcnow()
        message = Message(
            id=uuid.uuid4(), thread_id=thread.id, author_id=uuid.UUID(caller.account_id),
            author_kind=caller.kind.value, body=text, photo_ids=photo_ids, created_at=now,
        )
        self.db.add(message)
        thread.last_message_at = now
        self.db.flush()
        queries.insert_reads(self.db, [message.id], message.author_id, caller.kind.value, now)
        queries.upsert_timeline_item(
            self.db, kind=ItemKind.MESSAGE.value, ref_id=message.id, child_id=thread.child_id,
            group_id=thread.group_id, occurred_at=now,
            summary={
                "thread_id": str(thread.id), "author_kind": message.author_kind,
                "author_id": str(message.author_id), "excerpt": text[:EXCERPT_CHARS],
                "photo_count": len(photo_ids),
            },
        )
        self.outbox.add(self.db, "message_posted", {
            "message_id": str(message.id), "thread_id": str(thread.id), "child_id": str(thread.child_id),
            "group_id": str(thread.group_id), "author_id": str(message.author_id),
            "author_kind": message.author_kind,
        })
        log.info("message.posted", message_id=str(message.id), thread_id=str(thread.id), author_kind=message.author_kind)
        return message

    def _posted_response(self, thread: Thread, message: Message) -> dict:
        caller = self.caller()
        response = {"thread": self._thread_dict(thread), "message": self._message_dict(message, {})}
        if caller.kind is AccountKind.GUARDIAN:
            groups = self.accounts.groups([str(thread.group_id)])
            opening_hours = groups[0].get("opening_hours", {}) if groups else {}
            response["notice"] = message_notice(opening_hours, message.created_at, self.context.language)
        return response

    def _thread_summaries(self, rows) -> list[dict]:
        threads = [row[0] for row in rows]
        last = queries.last_messages(self.db, [t.id for t in threads])
        names = self._names(m.author_id for m in last.values())
        children = {}
        if threads:
            children = {c["id"]: c for c in self.accounts.children(sorted({str(t.child_id) for t in threads}))}
        result = []
        for thread, unread, total in rows:
            child = children.get(str(thread.child_id), {})
            last_message = last.get(thread.id)
            result.append({
                **self._thread_dict(thread),
                "child_first_name": child.get("first_name"),
                "child_last_name": child.get("last_name"),
                "unread_count": unread,
                "message_count": total,
                "last_message": self._message_dict(last_message, names) if last_message else None,
            })
        return result

    @staticmethod
    def _thread_dict(thread: Thread) -> dict:
        return {
            "id": str(thread.id), "child_id": str(thread.child_id), "group_id": str(thread.group_id),
            "created_at": iso(thread.created_at), "last_message_at": iso(thread.last_message_at),
        }

    @staticmethod
    def _message_dict(message: Message, names: dict[str, str]) -> dict:
        return {
            "id": str(message.id), "thread_id": str(message.thread_id), "author_id": str(message.author_id),
            "author_kind": message.author_kind, "author_name": names.get(str(message.author_id)),
            "body": message.body, "created_at": iso(message.created_at),
        }
