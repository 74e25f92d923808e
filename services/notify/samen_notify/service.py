"""The notify service: preferences, devices, inbox, and push and e-mail delivery."""

from __future__ import annotations

import functools
import uuid

import eventlet
import structlog
from nameko.events import event_handler
from nameko.timer import timer
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from samen_common.auth import CallerIdentity
from samen_common.context import RequestContext
from samen_common.db import Database, atomic
from samen_common.errors import RequestExpired, ServiceUnavailable
from samen_common.logs import configure_logging
from samen_common.outbox import claim_event
from samen_common.rpc import TimedRpcProxy, rpc
from samen_common.settings import env_float
from samen_common.timeutil import utcnow
from samen_notify import dispatch, fanout, inbox, messages, preferences  # noqa: F401 - messages registers texts
from samen_notify.account_mail import queue_account_mail
from samen_notify.models import HandledEvent, Recipient
from samen_notify.settings import notify_settings
from samen_notify.transports import TransportsProvider

configure_logging("notify")
log = structlog.get_logger(__name__)

TICK_SECONDS = env_float("SAMEN_NOTIFY_TICK_SECONDS", 1.0)
# A tick runs at most this many rounds of batches, so one tick cannot run for ever.
MAX_ROUNDS_PER_TICK = 50
# Pause before an event that failed for a transient reason goes back to its queue.
REQUEUE_PAUSE_SECONDS = env_float("SAMEN_NOTIFY_REQUEUE_PAUSE_SECONDS", 1.0)


def requeue_on_outage(handler):
    """Requeue the event when accounts or the database is unavailable; drop it on any other error.

    The handler is declared with `requeue_on_error=True`. A transient failure is re-raised after
    a short pause, so nameko puts the event back. Any other error is logged and swallowed,
    because requeueing an event that always fails would loop for ever.
    """

    @functools.wraps(handler)
    def wrapper(self, payload):
        try:
            return handler(self, payload)
        except (ServiceUnavailable, RequestExpired, DBAPIError) as error:
            log.warning("event.requeued", handler=handler.__name__, event_id=payload.get("event_id"),
                        error=getattr(error, "code", type(error).__name__))
            # NOTE: there is no attempt limit, so during a long accounts outage every queued event
            # is tried again about once per RPC timeout plus this pause.
            eventlet.sleep(REQUEUE_PAUSE_SECONDS)
            raise
        except Exception:  # noqa: BLE001 - see the docstring
            log.exception("event.dropped", handler=handler.__name__, event_id=payload.get("event_id"))
            return None

    return wrapper


def handles(source: str, event_type: str):
    def decorate(handler):
        return event_handler(source, event_type, requeue_on_error=True)(requeue_on_outage(handler))

    return decorate


class NotifyService:
    name = "notify"

    db = Database("notify")
    context = RequestContext()
    caller = CallerIdentity()
    accounts = TimedRpcProxy("accounts")
    transports = TransportsProvider()

    @rpc
    def health(self) -> dict:
        return {"service": self.name, "status": "ok"}

    # Account mail: always sent, whatever the preferences.

    @handles("accounts", "password_reset_requested")
    def on_password_reset_requested(self, payload):
        queue_account_mail(self.db, self.accounts, payload, "password_reset", "notify.on_password_reset_requested")
        self._send_mail_now()

    @handles("accounts", "password_reset_completed")
    def on_password_reset_completed(self, payload):
        queue_account_mail(self.db, self.accounts, payload, "password_changed", "notify.on_password_reset_completed")
        self._send_mail_now()

    @handles("accounts", "password_changed")
    def on_password_changed(self, payload):
        queue_account_mail(self.db, self.accounts, payload, "password_changed", "notify.on_password_changed")
        self._send_mail_now()

    @handles("accounts", "account_language_changed")
    def on_account_language_changed(self, payload):
        with atomic(self.db):
            if not claim_event(self.db, HandledEvent, payload["event_id"], "notify.on_account_language_changed"):
                return
            self.db.execute(
                update(Recipient)
                .where(Recipient.account_id == uuid.UUID(payload["account_id"]))
                .values(language=payload["language"], updated_at=utcnow())
            )

    def _send_mail_now(self):
        """Send queued mail at once, so account mail does not wait for the next tick."""
        try:
            dispatch.send_due_mail(self.db, self.transports, notify_settings())
        except Exception:  # noqa: BLE001 - the timer sends it later
            log.exception("mail.immediate_send_failed")

    # Fan-out of items to the people allowed to see them.

    @handles("media", "photo_published")
    def on_photo_published(self, payload):
        fanout.photo_published(self.db, self.accounts, payload)

    @handles("messaging", "message_posted")
    def on_message_posted(self, payload):
        fanout.message_posted(self.db, self.accounts, payload)

    @handles("messaging", "notebook_entry_added")
    def on_notebook_entry_added(self, payload):
        fanout.notebook_entry_added(self.db, self.accounts, payload)

    @handles("messaging", "news_published")
    def on_news_published(self, payload):
        fanout.news_published(self.db, self.accounts, payload)

    @handles("requests", "request_decided")
    def on_request_decided(self, payload):
        fanout.request_decided(self.db, self.accounts, payload)

    @handles("messaging", "document_added")
    def on_document_added(self, payload):
        fanout.document_added(self.db, self.accounts, payload)

    # Delivery.

    @timer(interval=TICK_SECONDS)
    def work(self):
        """Flush due digests, then send due pushes and e-mails, one batch of each per round.

        Rounds repeat while any step had a full batch, so a large fan-out starts sending its
        first pushes while later digests are still being flushed.
        """
        settings = notify_settings()
        steps = {
            "flush": lambda: dispatch.flush_due_digests(self.db, self.accounts, settings),
            "push": lambda: dispatch.send_due_pushes(self.db, self.accounts, self.transports, settings),
            "mail": lambda: dispatch.send_due_mail(self.db, self.transports, settings),
        }
        busy = set(steps)
        for _ in range(MAX_ROUNDS_PER_TICK):
            for name in list(busy):
                try:
                    if steps[name]() < settings.send_batch_size:
                        busy.discard(name)
                except Exception:  # noqa: BLE001 - the next tick tries again
                    log.exception("work.step_failed", step=name)
                    self.db.rollback()
                    busy.discard(name)
            if not busy:
                break

    # Preferences, devices and inbox of the calling account.

    @rpc
    def notification_settings(self) -> dict:
        return preferences.read(self.db, self.caller())

    @rpc
    def update_notification_settings(self, changes: dict) -> dict:
        return preferences.update(self.db, self.caller(), changes)

    @rpc
    def register_device(self, token: str, platform: str, name: str = "") -> dict:
        return preferences.register_device(self.db, self.caller(), token, platform, name)

    @rpc
    def unregister_device(self, token_or_id: str) -> dict:
        """Remove the caller's device by FCM token or device id; used by logout as well."""
        return preferences.unregister_device(self.db, self.caller(), token_or_id)

    @rpc
    def list_devices(self) -> list[dict]:
        return preferences.list_devices(self.db, self.caller())

    @rpc
    def list_notifications(self, limit: int = 20, cursor: str | None = None) -> dict:
        return inbox.list_page(self.db, self.caller(), self.context.language, limit, cursor)

    @rpc
    def mark_read(self, notification_id: str) -> dict:
        return inbox.mark_read(self.db, self.caller(), notification_id)

    @rpc
    def mark_all_read(self) -> dict:
        return inbox.mark_all_read(self.db, self.caller())

    @rpc
    def delivery_log(self, notification_id: str) -> list[dict]:
        return inbox.delivery_log(self.db, self.caller(), notification_id)
