"""The messaging service: group messages, notebook, news and the guardian timeline.

The entrypoints live in one mixin per concept (threads, notebook, news, timeline); this class
adds the dependencies they share and the staff's day overview of a group.
"""

from __future__ import annotations

import uuid

import structlog

from samen_common.auth import CallerIdentity
from samen_common.context import RequestContext
from samen_common.db import Database
from samen_common.logs import configure_logging
from samen_common.outbox import Outbox
from samen_common.rpc import TimedRpcProxy, rpc
from samen_common.timeutil import local_today
from samen_messaging import access, messages  # noqa: F401 - messages registers the service's texts
from samen_messaging import queries
from samen_messaging.base import iso, parse_date
from samen_messaging.models import OutboxMessage
# Modules, not classes: `nameko run` treats every class with entrypoints in this module's
# namespace as a service of its own, so the mixins stay behind their module names.
from samen_messaging import documents, news, notebook, threads, timeline

configure_logging("messaging")
log = structlog.get_logger(__name__)


class MessagingService(threads.ThreadsMixin, notebook.NotebookMixin, news.NewsMixin, timeline.TimelineMixin,
                       documents.DocumentsMixin):
    name = "messaging"

    db = Database("messaging")
    outbox = Outbox(OutboxMessage)
    context = RequestContext()
    caller = CallerIdentity()
    accounts = TimedRpcProxy("accounts")
    media = TimedRpcProxy("media", timeout=5)

    @rpc
    def health(self) -> dict:
        return {"service": self.name, "status": "ok"}

    @rpc
    def group_day(self, group_id: str, day: str | None = None) -> dict:
        """Return a group's day for staff: each child's notebook entries and the unread messages."""
        caller = self.caller().require_staff()
        access.parse_id(group_id)
        access.require_staff_group(self._scope(), group_id)
        on = parse_date(day, "date") or local_today()

        child_ids = self.accounts.children_of_groups([group_id], on.isoformat()).get(group_id, [])
        children = sorted(self.accounts.children(child_ids), key=lambda c: (c["first_name"], c["last_name"]))
        start, end = notebook.local_day_bounds(on, on)
        entries = queries.entries_on_day(self.db, [uuid.UUID(c) for c in child_ids], start, end)
        threads = queries.list_threads_with_unread(
            self.db, uuid.UUID(caller.account_id), group_ids=[uuid.UUID(group_id)]
        )
        self.db.rollback()

        by_child: dict[str, list] = {}
        for entry in entries:
            by_child.setdefault(str(entry.child_id), []).append(entry)
        unread_by_child = {str(thread.child_id): unread for thread, unread, _total in threads}
        thread_by_child = {str(thread.child_id): str(thread.id) for thread, _unread, _total in threads}
        return {
            "group_id": group_id,
            "date": on.isoformat(),
            "unread_messages": sum(unread_by_child.values()),
            "children": [
                {
                    "child_id": child["id"], "first_name": child["first_name"], "last_name": child["last_name"],
                    "notebook_entries": len(by_child.get(child["id"], [])),
                    "last_entry_at": iso(by_child[child["id"]][-1].written_at) if child["id"] in by_child else None,
                    "items_recorded": sorted({key for e in by_child.get(child["id"], []) for key in e.items}),
                    "thread_id": thread_by_child.get(child["id"]),
                    "unread_messages": unread_by_child.get(child["id"], 0),
                }
                for child in children
            ],
        }


__all__ = ["MessagingService"]
