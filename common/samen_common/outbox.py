"""Transactional outbox: events are stored with the change and published after commit.

A service adds an event row in the same transaction as its change (`Outbox.add`). The relay,
one green thread per service process, publishes unsent rows to the service's nameko event
exchange with publisher confirms and marks them sent. A PostgreSQL advisory lock per service
lets one relay publish at a time, so several processes of one service never publish the same row
at the same moment. A process that dies between publishing and marking publishes the row again
on restart: delivery is at least once, and consumers record handled event ids (`claim_event`).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

import eventlet
import structlog
from eventlet.event import Event
from kombu import Connection
from kombu.pools import producers
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange
from sqlalchemy import DateTime, Integer, String, Text, func, select, text, update
from sqlalchemy.dialects.postgresql import JSONB, UUID, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from samen_common import context
from samen_common.timeutil import utcnow

log = structlog.get_logger(__name__)

SCHEMA_VERSION = 1
# Payload keys with this prefix (a password-reset token) are removed from the stored row once
# the event is published, so the database keeps no usable secret.
SECRET_PREFIX = "secret_"


class OutboxMessageMixin:
    """Columns of the `outbox` table that each service maps on its own metadata."""

    __tablename__ = "outbox"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)


class HandledEventMixin:
    """Columns of the `handled_events` table: one row per event id and handler."""

    __tablename__ = "handled_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    handler: Mapped[str] = mapped_column(String(200), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def new_event(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """Build an event payload: the facts plus the envelope fields every event carries."""
    payload = dict(data)
    payload["event_id"] = str(uuid.uuid4())
    payload["event_type"] = event_type
    payload["occurred_at"] = utcnow().isoformat()
    payload["schema_version"] = SCHEMA_VERSION
    return payload


def claim_event(session: Session, handled_model, event_id: str, handler: str) -> bool:
    """Record that `handler` handles `event_id` in the caller's transaction.

    Returns False when the event was handled before, so the caller skips it. The claim
    commits or rolls back with the handler's own changes, which makes the effect happen once.
    """
    statement = (
        insert(handled_model)
        .values(event_id=event_id, handler=handler)
        .on_conflict_do_nothing()
        .returning(handled_model.event_id)
    )
    return session.execute(statement).first() is not None


class _OutboxWriter:
    def __init__(self, provider: "Outbox", worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx

    def add(self, session: Session, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        """Stage an event in `session`'s transaction and return its payload."""
        payload = new_event(event_type, data)
        row = self._provider.model(
            id=uuid.UUID(payload["event_id"]),
            event_type=event_type,
            payload=payload,
            request_id=self._worker_ctx.data.get(context.REQUEST_ID),
        )
        session.add(row)
        self._provider.staged.add(self._worker_ctx)
        return payload


class Outbox(DependencyProvider):
    """Stage events in the worker's transaction and relay them to RabbitMQ after commit.

    `database` is the attribute name of the service's `Database` dependency, whose engine the
    relay uses.
    """

    def __init__(self, model, database: str = "db", poll_interval: float = 1.0, batch_size: int = 200):
        self.model = model
        self.database_attr = database
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.staged: set = set()
        self._wake = Event()
        self._relay = None
        self._running = False

    def setup(self):
        self.service_name = self.container.service_name
        self.exchange = get_event_exchange(self.service_name, self.container.config)
        self.amqp_uri = self.container.config[AMQP_URI_CONFIG_KEY]

    def start(self):
        self._running = True
        self._relay = self.container.spawn_managed_thread(self._relay_loop, identifier="outbox-relay")

    def stop(self):
        self._running = False
        self._nudge()
        if self._relay is not None:
            self._relay.wait()

    def kill(self):
        self._running = False
        if self._relay is not None:
            self._relay.kill()

    def get_dependency(self, worker_ctx):
        return _OutboxWriter(self, worker_ctx)

    def worker_teardown(self, worker_ctx):
        if worker_ctx in self.staged:
            self.staged.discard(worker_ctx)
            self._nudge()

    def _nudge(self):
        if not self._wake.ready():
            self._wake.send(True)

    def _engine(self):
        for dependency in self.container.dependencies:
            if dependency.attr_name == self.database_attr:
                return dependency.engine
        raise RuntimeError(f"service {self.service_name} has no database dependency {self.database_attr!r}")

    def _relay_loop(self):
        while self._running:
            try:
                while self._running and self.publish_pending() == self.batch_size:
                    pass
            except Exception as exc:  # noqa: BLE001 - the relay must survive outages and retry
                log.warning("outbox.relay_failed", service=self.service_name, error=str(exc)[:300])
                eventlet.sleep(min(5.0, self.poll_interval * 2))
            with eventlet.Timeout(self.poll_interval, False):
                self._wake.wait()
            self._wake = Event()

    def publish_pending(self) -> int:
        """Publish one batch of unsent events; return how many were sent.

        A session-level advisory lock lets one relay of the service publish at a time. No
        transaction stays open while the relay talks to RabbitMQ: the rows are read in one short
        transaction and marked sent in another. The lock ends with its connection, so a relay
        that dies frees it for another process.
        """
        engine = self._engine()
        model = self.model
        with engine.connect() as lock_connection:
            locked = lock_connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self._lock_key})
            lock_connection.commit()
            if not locked:
                return 0
            try:
                return self._publish_batch(engine, model)
            finally:
                lock_connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._lock_key})
                lock_connection.commit()

    @property
    def _lock_key(self) -> int:
        digest = hashlib.sha256(f"samen-outbox:{self.service_name}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def _publish_batch(self, engine, model) -> int:
        with Session(engine, expire_on_commit=False) as session:
            rows = session.scalars(
                select(model).where(model.published_at.is_(None)).order_by(model.created_at).limit(self.batch_size)
            ).all()
            session.commit()
        if not rows:
            return 0

        self._publish(rows)

        with Session(engine) as session, session.begin():
            session.execute(
                update(model)
                .where(model.id.in_([row.id for row in rows]))
                .values(published_at=utcnow(), attempts=model.attempts + 1)
            )
            for row in rows:
                if any(key.startswith(SECRET_PREFIX) for key in row.payload):
                    scrubbed = {k: v for k, v in row.payload.items() if not k.startswith(SECRET_PREFIX)}
                    session.execute(update(model).where(model.id == row.id).values(payload=scrubbed))
        log.info("outbox.published", service=self.service_name, count=len(rows))
        return len(rows)

    def _publish(self, rows) -> None:
        connection = Connection(self.amqp_uri, transport_options={"confirm_publish": True}, connect_timeout=5)
        with producers[connection].acquire(block=True, timeout=10) as producer:
            for row in rows:
                headers = {}
                if row.request_id:
                    headers["nameko." + context.REQUEST_ID] = row.request_id
                producer.publish(
                    row.payload,
                    exchange=self.exchange,
                    routing_key=row.event_type,
                    declare=[self.exchange],
                    serializer="json",
                    delivery_mode=2,
                    headers=headers,
                    retry=True,
                    retry_policy={"max_retries": 3, "interval_start": 0.5, "interval_step": 1, "interval_max": 2},
                )
