"""Fan-out from events to exactly the people allowed to see the item, by push and e-mail."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest

from tests.integration.notify.conftest import wait_until
from tests.integration.notify.helpers import NotifyClient, device_token, titles


@pytest.fixture
def client(service_config, context_data, make_token):
    def make(account_id, kind="guardian"):
        return NotifyClient(service_config, context_data, make_token, account_id, kind)

    return make


@pytest.fixture
def devices(platform, world, client):
    """One registered device for every seeded account: {name: token}.

    Quiet hours are switched off, so that the tests pass at any time of day; the quiet-hours
    test switches them on again.
    """
    tokens = {}
    for name, account_id in world.accounts.items():
        tokens[name] = device_token()
        kind = "staff" if name == "esther" else "guardian"
        client(account_id, kind).register_device(tokens[name], "android", f"telefoon van {name}")
        client(account_id, kind).update_notification_settings({"quiet_hours": {"enabled": False}})
    return tokens


def _accounts_sql(clean_db, query, params):
    with psycopg.connect(clean_db["accounts"].replace("postgresql+psycopg", "postgresql"), autocommit=True) as sql:
        sql.execute(query, params)


def photo(world, *children):
    return {"photo_id": str(uuid.uuid4()), "child_ids": [world.children[c] for c in children],
            "group_id": world.group_a, "location_id": world.location_id, "published_at": "2026-12-04T10:00:00+00:00",
            "uploaded_by": world.accounts["esther"]}


def test_photo_reaches_guardians_of_tagged(publish, world, devices, fcm_server):
    publish("media", "photo_published", photo(world, "sam"))

    anna = fcm_server.wait_for(1, device_token=devices["anna"])
    ben = fcm_server.wait_for(1, device_token=devices["ben"])
    time.sleep(1)

    assert titles(anna) == ["Nieuwe foto van Sam"]
    assert titles(ben) == ["New photo of Sam"]
    assert fcm_server.messages(devices["carla"]) == []
    assert fcm_server.messages(devices["esther"]) == []
    assert len(fcm_server.messages()) == 2


def test_photo_names_only_own_children(publish, world, devices, fcm_server):
    publish("media", "photo_published", photo(world, "sam", "lisa"))

    anna = fcm_server.wait_for(1, device_token=devices["anna"])
    ben = fcm_server.wait_for(1, device_token=devices["ben"])

    assert titles(anna) == ["Nieuwe foto van Sam en Lisa"]
    assert titles(ben) == ["New photo of Sam"]


def test_photo_without_consent_notifies_nobody(publish, world, devices, fcm_server, notify_db):
    publish("media", "photo_published", photo(world, "sam", "noor"))
    publish("messaging", "notebook_entry_added", {"entry_id": "e1", "child_id": world.children["lisa"],
                                                           "group_id": world.group_b, "author_id": world.accounts["esther"]})

    fcm_server.wait_for(1, device_token=devices["anna"])
    time.sleep(0.5)

    assert titles(fcm_server.messages()) == ["Nieuw in het schriftje van Lisa"]
    assert notify_db("SELECT count(*) FROM notifications WHERE subject = 'photos'") == [(0,)]


def test_consent_rechecked_at_send(publish, world, devices, fcm_server, notify_db, clean_db, monkeypatch):
    monkeypatch.setenv("SAMEN_DIGEST_WINDOW_SECONDS", "2")
    from samen_notify.settings import notify_settings

    notify_settings.cache_clear()
    publish("media", "photo_published", photo(world, "sam"))
    assert wait_until(lambda: notify_db("SELECT count(*) FROM notifications")[0][0] == 2)

    _accounts_sql(clean_db, "UPDATE children SET photo_consent = false WHERE id = %s", (world.children["sam"],))
    wait_until(lambda: notify_db("SELECT count(*) FROM digests WHERE state = 'open'") == [(0,)], timeout=6)
    time.sleep(0.5)

    assert fcm_server.messages() == []
    assert notify_db("SELECT count(*) FROM notifications WHERE withdrawn_at IS NULL") == [(0,)]
    assert notify_db("SELECT DISTINCT state FROM digests") == [("cancelled",)]


def test_message_from_staff_to_guardians(publish, world, devices, fcm_server):
    publish("messaging", "message_posted", {"message_id": "m1", "thread_id": "t1", "child_id": world.children["sam"],
                                            "group_id": world.group_a, "author_id": world.accounts["esther"],
                                            "author_kind": "staff"})

    fcm_server.wait_for(2)
    time.sleep(0.5)

    received = {m["message"]["token"]: m["message"]["notification"]["title"] for m in fcm_server.messages()}
    assert received == {devices["anna"]: "Er is een nieuw bericht over Sam",
                        devices["ben"]: "There is a new message about Sam"}


def test_message_from_guardian_to_staff(publish, world, devices, fcm_server):
    publish("messaging", "message_posted", {"message_id": "m2", "thread_id": "t2", "child_id": world.children["sam"],
                                            "group_id": world.group_a, "author_id": world.accounts["anna"],
                                            "author_kind": "guardian"})

    fcm_server.wait_for(1)
    time.sleep(0.5)

    messages = fcm_server.messages()
    assert [m["message"]["token"] for m in messages] == [devices["esther"]]
    assert messages[0]["message"]["data"]["subject"] == "messages"


def test_news_reaches_audience(publish, world, devices, fcm_server):
    publish("messaging", "news_published", {"news_id": "n1", "organisation_id": world.organisation_id,
                                            "location_ids": [], "group_ids": [world.group_a],
                                            "published_at": "2026-12-04T10:00:00+00:00"})

    fcm_server.wait_for(4)
    time.sleep(0.5)

    tokens = sorted(m["message"]["token"] for m in fcm_server.messages())
    assert tokens == sorted([devices["anna"], devices["ben"], devices["carla"], devices["dirk"]])


def test_request_decision_hides_kind(publish, world, devices, fcm_server):
    publish("requests", "request_decided", {"request_id": "r1", "child_id": world.children["sam"],
                                            "kind": "absence_illness", "state": "approved"})

    anna = fcm_server.wait_for(1, device_token=devices["anna"])

    assert titles(anna) == ["Je aanvraag voor Sam is goedgekeurd"]
    assert "ziek" not in str(anna).lower() and "illness" not in str(anna).lower()


def test_push_switched_off_per_subject(publish, world, devices, fcm_server, client):
    client(world.accounts["anna"]).update_notification_settings({"subjects": {"photos": {"push": False}}})

    publish("media", "photo_published", photo(world, "sam"))
    publish("messaging", "notebook_entry_added", {"entry_id": "e2", "child_id": world.children["sam"],
                                                  "group_id": world.group_a, "author_id": world.accounts["esther"]})

    fcm_server.wait_for(3)
    time.sleep(0.5)

    assert titles(fcm_server.messages(devices["anna"])) == ["Nieuw in het schriftje van Sam"]
    assert sorted(titles(fcm_server.messages(devices["ben"]))) == ["New notebook entry for Sam", "New photo of Sam"]


def test_email_per_subject(publish, world, devices, fcm_server, smtp_sink, client):
    client(world.accounts["ben"]).update_notification_settings({"subjects": {"messages": {"email": False}}})

    publish("media", "photo_published", photo(world, "sam"))
    publish("messaging", "message_posted", {"message_id": "m3", "thread_id": "t3", "child_id": world.children["sam"],
                                            "group_id": world.group_a, "author_id": world.accounts["esther"],
                                            "author_kind": "staff"})

    smtp_sink.wait_for(1)
    time.sleep(1)

    mails = smtp_sink.messages()
    assert [(m["To"], m["Subject"]) for m in mails] == [("anna@example.org", "Er is een nieuw bericht over Sam")]
    assert "Open Samen" in mails[0].get_body(preferencelist=("plain",)).get_content()


def test_duplicate_event_one_push(publish, world, devices, fcm_server, notify_db):
    payload = publish("media", "photo_published", photo(world, "lisa"))
    publish("media", "photo_published", {k: v for k, v in payload.items()
                                         if k not in ("event_type", "occurred_at", "schema_version")},
            event_id=payload["event_id"])

    fcm_server.wait_for(2, timeout=3)

    assert len(fcm_server.messages(devices["anna"])) == 1
    assert notify_db("SELECT count(*) FROM push_deliveries") == [(1,)]


def test_burst_becomes_one_digest(publish, world, devices, fcm_server, monkeypatch):
    monkeypatch.setenv("SAMEN_DIGEST_WINDOW_SECONDS", "3")
    from samen_notify.settings import notify_settings

    notify_settings.cache_clear()
    for _ in range(12):
        publish("media", "photo_published", photo(world, "sam"))

    fcm_server.wait_for(2, timeout=10)
    time.sleep(1)

    assert titles(fcm_server.messages(devices["anna"])) == ["12 nieuwe foto's van Sam"]
    assert titles(fcm_server.messages(devices["ben"])) == ["12 new photos of Sam"]


def test_quiet_hours_hold_push(publish, world, devices, fcm_server, client, notify_db):
    from datetime import datetime, timedelta

    from samen_common.timeutil import AMSTERDAM

    local_now = datetime.now(AMSTERDAM)
    start = (local_now - timedelta(hours=1)).strftime("%H:%M")
    end = (local_now + timedelta(hours=2)).strftime("%H:%M")
    client(world.accounts["anna"]).update_notification_settings({"quiet_hours": {"enabled": True, "start": start, "end": end}})

    publish("media", "photo_published", photo(world, "sam"))

    fcm_server.wait_for(1, device_token=devices["ben"])
    time.sleep(1)

    assert fcm_server.messages(devices["anna"]) == []
    due = notify_db("SELECT due_at FROM digests WHERE account_id = %s AND state = 'open'", (world.accounts["anna"],))
    held_until = due[0][0].astimezone(AMSTERDAM)
    assert held_until.strftime("%H:%M") == end
    assert held_until > local_now


def test_language_follows_change(publish, world, devices, fcm_server, notify_db):
    publish("media", "photo_published", photo(world, "sam"))
    fcm_server.wait_for(2)
    publish("accounts", "account_language_changed", {"account_id": world.accounts["ben"], "language": "nl"})
    wait_until(lambda: notify_db("SELECT language FROM recipients WHERE account_id = %s",
                                 (world.accounts["ben"],)) == [("nl",)])

    assert notify_db("SELECT language FROM recipients WHERE account_id = %s", (world.accounts["ben"],)) == [("nl",)]


def test_burst_becomes_one_email(publish, world, devices, smtp_sink, monkeypatch):
    monkeypatch.setenv("SAMEN_DIGEST_WINDOW_SECONDS", "3")
    from samen_notify.settings import notify_settings

    notify_settings.cache_clear()
    for number in range(5):
        publish("messaging", "message_posted", {"message_id": f"m{number}", "thread_id": "t",
                                                "child_id": world.children["lisa"], "group_id": world.group_b,
                                                "author_id": world.accounts["esther"], "author_kind": "staff"})

    smtp_sink.wait_for(1, timeout=10)
    time.sleep(1.5)

    mails = smtp_sink.messages()
    assert [(m["To"], m["Subject"]) for m in mails] == [("anna@example.org", "5 nieuwe berichten over Lisa")]


def test_document_reaches_only_its_guardian(publish, world, devices, fcm_server, smtp_sink, client):
    client(world.accounts["ben"]).update_notification_settings({"subjects": {"documents": {"push": False}}})
    for guardian in ("anna", "ben"):
        publish("messaging", "document_added", {"document_id": f"d-{guardian}", "guardian_id": world.accounts[guardian],
                                                "organisation_id": world.organisation_id, "kind": "invoice"})

    anna = fcm_server.wait_for(1, device_token=devices["anna"])
    smtp_sink.wait_for(2)
    time.sleep(0.5)

    assert titles(anna) == ["Er staat een nieuw document voor je klaar"]
    assert "factuur" not in str(anna).lower()
    assert "invoice" not in str(anna).lower()
    assert [m["message"]["token"] for m in fcm_server.messages()] == [devices["anna"]]
    subjects = sorted((m["To"], m["Subject"]) for m in smtp_sink.messages())
    assert subjects == [("anna@example.org", "Er staat een nieuw document voor je klaar"),
                        ("ben@example.org", "A new document is ready for you")]
