"""The outbox relay publishes committed events, and claim_event makes a redelivery harmless."""

import time

from nameko.events import event_handler
from nameko.standalone.events import event_dispatcher
from sqlalchemy import func, select

from samen_accounts.models import AuditEntry, HandledEvent, OutboxMessage
from samen_common.db import Database, atomic
from samen_common.outbox import claim_event, new_event
from samen_devtools.demo import DEMO_PASSWORD

received: list[dict] = []


class PasswordEventListener:
    name = "test_listener"

    @event_handler("accounts", "password_changed")
    def on_password_changed(self, payload):
        received.append(payload)


class AuditingConsumer:
    """Writes one audit row per handled event, claiming the event id first."""

    name = "test_auditor"
    db = Database("accounts")

    @event_handler("test_source", "something_happened")
    def on_something(self, payload):
        with atomic(self.db):
            if not claim_event(self.db, HandledEvent, payload["event_id"], "test_auditor.on_something"):
                return
            self.db.add(AuditEntry(action="test_effect", details={"event_id": payload["event_id"]}))


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_outbox_event_published_after_commit(call, container_factory, service_config, accounts):
    received.clear()
    listener = container_factory(PasswordEventListener, service_config)
    listener.start()

    token = call("login", "100001", DEMO_PASSWORD)["access_token"]
    call("change_password", DEMO_PASSWORD, "Een-ander-lang-wachtwoord-77", token=token)

    assert wait_until(lambda: len(received) == 1)
    event = received[0]
    assert event["event_type"] == "password_changed"
    assert event["event_id"]
    assert event["occurred_at"].endswith("+00:00")

    db = accounts.dependencies
    engine = next(dep for dep in db if dep.attr_name == "db").engine
    with engine.connect() as connection:
        unsent = connection.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
        )
    assert unsent == 0


def test_reset_token_removed_from_outbox_after_publish(call, accounts):
    call("request_password_reset", "100001")
    engine = next(dep for dep in accounts.dependencies if dep.attr_name == "db").engine

    def published():
        with engine.connect() as connection:
            row = connection.execute(
                select(OutboxMessage.payload, OutboxMessage.published_at).where(
                    OutboxMessage.event_type == "password_reset_requested"
                )
            ).first()
        return row is not None and row.published_at is not None and "secret_token" not in row.payload

    assert wait_until(published)


def test_duplicate_event_has_one_effect(container_factory, service_config, demo_loaded):
    consumer = container_factory(AuditingConsumer, service_config)
    consumer.start()
    engine = next(dep for dep in consumer.dependencies if dep.attr_name == "db").engine

    dispatch = event_dispatcher(service_config)
    payload = new_event("something_happened", {"thing_id": "42"})
    dispatch("test_source", "something_happened", payload)
    dispatch("test_source", "something_happened", payload)
    dispatch("test_source", "something_happened", new_event("something_happened", {"thing_id": "43"}))

    def count():
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "test_effect"))

    assert wait_until(lambda: count() == 2)
    time.sleep(0.5)
    assert count() == 2
