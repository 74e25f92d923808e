"""Push and e-mail delivery against the FCM test server and the SMTP sink: errors case by case."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone

import pytest

from tests.integration.notify.conftest import wait_until
from tests.integration.notify.helpers import NotifyClient, device_token, titles


@pytest.fixture
def anna(platform, world, service_config, context_data, make_token):
    """Anna's client with one registered device and quiet hours off."""
    client = NotifyClient(service_config, context_data, make_token, world.accounts["anna"])
    client.update_notification_settings({"quiet_hours": {"enabled": False}})
    client.token = device_token()
    client.device = client.register_device(client.token, "ios", "iPhone")
    return client


def notebook(world, child="lisa"):
    return {"entry_id": str(uuid.uuid4()), "child_id": world.children[child], "group_id": world.group_b,
            "author_id": world.accounts["esther"]}


def test_unregistered_token_deleted(publish, world, anna, fcm_server, notify_db):
    fcm_server.control("unregistered", device_token=anna.token)

    publish("messaging", "notebook_entry_added", notebook(world))
    wait_until(lambda: notify_db("SELECT state FROM push_deliveries") == [("failed",)])
    publish("messaging", "notebook_entry_added", notebook(world))
    time.sleep(1.5)

    assert notify_db("SELECT count(*) FROM devices WHERE token = %s", (anna.token,)) == [(0,)]
    assert anna.list_devices() == []
    assert fcm_server.stats()["send_requests"] == 1
    assert notify_db("SELECT count(*) FROM push_deliveries") == [(1,)]


def test_quota_exceeded_honours_retry_after(publish, world, anna, fcm_server, notify_db):
    fcm_server.control("fail", error_code="QUOTA_EXCEEDED", count=1, retry_after=2)

    started = datetime.now(timezone.utc)
    publish("messaging", "notebook_entry_added", notebook(world))
    retried = wait_until(lambda: notify_db(
        "SELECT next_attempt_at, attempts FROM push_deliveries WHERE state = 'queued' AND attempts = 1"))
    assert retried
    assert (retried[0][0] - started).total_seconds() >= 2

    received = fcm_server.wait_for(1, timeout=10)

    assert titles(received) == ["Nieuw in het schriftje van Lisa"]
    assert notify_db("SELECT state, attempts FROM push_deliveries") == [("sent", 2)]
    statuses = [row[0] for row in notify_db("SELECT status FROM delivery_log WHERE channel = 'push' ORDER BY id")]
    assert statuses == ["queued", "retried", "sent"]


def test_unavailable_retried_with_backoff(publish, world, anna, fcm_server, notify_db):
    fcm_server.control("fail", error_code="UNAVAILABLE", count=2)

    publish("messaging", "notebook_entry_added", notebook(world))
    received = fcm_server.wait_for(1, timeout=15)
    time.sleep(0.5)

    assert len(received) == 1
    assert fcm_server.stats()["send_requests"] == 3
    assert notify_db("SELECT state, attempts FROM push_deliveries") == [("sent", 3)]


def test_retry_does_not_block_other_sends(publish, world, anna, fcm_server, service_config, context_data,
                                          make_token):
    ben = NotifyClient(service_config, context_data, make_token, world.accounts["ben"], language="en")
    ben.update_notification_settings({"quiet_hours": {"enabled": False}})
    ben_token = device_token()
    ben.register_device(ben_token, "android", "Pixel")
    fcm_server.control("fail", error_code="UNAVAILABLE", device_token=anna.token)

    publish("messaging", "notebook_entry_added", notebook(world, "sam"))

    assert titles(fcm_server.wait_for(1, device_token=ben_token)) == ["New notebook entry for Sam"]
    assert fcm_server.messages(anna.token) == []


def test_gives_up_after_max_attempts(publish, world, anna, fcm_server, notify_db, monkeypatch):
    from samen_notify.settings import notify_settings

    monkeypatch.setenv("SAMEN_PUSH_MAX_ATTEMPTS", "2")
    notify_settings.cache_clear()
    fcm_server.control("fail", error_code="INTERNAL", device_token=anna.token)

    publish("messaging", "notebook_entry_added", notebook(world))
    failed = wait_until(lambda: notify_db("SELECT state, attempts FROM push_deliveries WHERE state = 'failed'"),
                        timeout=10)

    assert failed == [("failed", 2)]
    reasons = notify_db("SELECT reason FROM delivery_log WHERE status = 'failed'")
    assert "gave up after 2 attempts" in reasons[0][0]


def test_expired_access_token_refreshed(publish, world, anna, fcm_server):
    publish("messaging", "notebook_entry_added", notebook(world))
    fcm_server.wait_for(1)
    fcm_server.control("expire-tokens")

    publish("messaging", "notebook_entry_added", notebook(world))
    received = fcm_server.wait_for(2)

    assert len(received) == 2
    assert fcm_server.stats()["token_fetches"] == 2


def test_moved_token_gets_no_old_push(publish, world, anna, fcm_server, notify_db, service_config, context_data,
                                      make_token, monkeypatch):
    from samen_notify.settings import notify_settings

    monkeypatch.setenv("SAMEN_DIGEST_WINDOW_SECONDS", "2")
    notify_settings.cache_clear()
    publish("messaging", "notebook_entry_added", notebook(world))
    wait_until(lambda: notify_db("SELECT count(*) FROM notifications") == [(1,)])

    carla = NotifyClient(service_config, context_data, make_token, world.accounts["carla"])
    moved = carla.register_device(anna.token, "ios", "iPhone")
    time.sleep(3.5)

    assert moved["id"] != anna.device["id"]
    assert anna.list_devices() == []
    assert fcm_server.messages() == []


def test_delivery_log_per_notification(publish, world, anna, fcm_server, notify_db):
    publish("messaging", "notebook_entry_added", notebook(world))
    fcm_server.wait_for(1)
    wait_until(lambda: notify_db("SELECT count(*) FROM delivery_log WHERE status = 'sent'") == [(1,)])
    notification_id = anna.list_notifications()["items"][0]["id"]

    log = anna.delivery_log(notification_id)

    assert [(entry["channel"], entry["status"]) for entry in log] == [("push", "queued"), ("push", "sent")]
    assert log[0]["device_id"] == anna.device["id"]


def test_bounce_marks_address(publish, world, platform, smtp_sink, notify_db, clean_db, service_config,
                              context_data):
    import psycopg
    from nameko.standalone.rpc import ServiceRpcProxy

    with psycopg.connect(clean_db["accounts"].replace("postgresql+psycopg", "postgresql"), autocommit=True) as sql:
        sql.execute("UPDATE accounts SET email = 'bounce@example.org' WHERE id = %s", (world.accounts["carla"],))
    message = {"message_id": "m", "thread_id": "t", "child_id": world.children["noor"], "group_id": world.group_a,
               "author_id": world.accounts["esther"], "author_kind": "staff"}

    publish("messaging", "message_posted", message)
    bounced = wait_until(lambda: notify_db("SELECT bouncing_email FROM recipients WHERE bouncing_email IS NOT NULL"))
    assert bounced == [("bounce@example.org",)]

    publish("messaging", "message_posted", dict(message, message_id="m2"))
    wait_until(lambda: notify_db("SELECT count(*) FROM digests WHERE channel = 'email' AND state = 'flushed'") == [(2,)])
    with ServiceRpcProxy("accounts", service_config, context_data=context_data()) as accounts:
        accounts.request_password_reset("700002")
    # "sending" is a passing state; wait until both deliveries reached their outcome.
    wait_until(lambda: notify_db("SELECT count(*) FROM mail_deliveries WHERE state IN ('sent', 'failed')") == [(2,)])

    states = notify_db("SELECT subject, state, last_error FROM mail_deliveries ORDER BY created_at")
    assert len(states) == 2
    assert states[0][:2] == ("messages", "failed") and "550" in states[0][2]
    # No mail was queued for the second message; account mail is still attempted, and the sink
    # rejects it again.
    assert states[1][:2] == ("account", "failed") and "550" in states[1][2]
    assert smtp_sink.messages() == []
