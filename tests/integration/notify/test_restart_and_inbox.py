"""Events that arrive while notify is stopped, and the in-app inbox."""

from __future__ import annotations

import time
import uuid

import pytest
from nameko.testing.utils import get_container

from samen_common.errors import InvalidInput, NotFound
from tests.integration.notify.conftest import wait_until
from tests.integration.notify.helpers import NotifyClient, device_token


def notebook(world, child="lisa"):
    return {"entry_id": str(uuid.uuid4()), "child_id": world.children[child], "group_id": world.group_b,
            "author_id": world.accounts["esther"]}


@pytest.fixture
def anna(platform, world, service_config, context_data, make_token):
    client = NotifyClient(service_config, context_data, make_token, world.accounts["anna"])
    client.update_notification_settings({"quiet_hours": {"enabled": False}})
    client.token = device_token()
    client.register_device(client.token, "android", "Pixel")
    return client


def test_stopped_service_sends_once_later(platform, anna, publish, world, fcm_server, container_factory,
                                          service_config, notify_db):
    from samen_notify.service import NotifyService

    get_container(platform, NotifyService).stop()
    for _ in range(3):
        publish("messaging", "notebook_entry_added", notebook(world))
        publish("media", "photo_published", {"photo_id": str(uuid.uuid4()), "child_ids": [world.children["lisa"]],
                                             "group_id": world.group_b, "location_id": world.location_id,
                                             "published_at": "2026-12-04T10:00:00+00:00",
                                             "uploaded_by": world.accounts["esther"]})
    time.sleep(1)
    assert fcm_server.messages() == []

    restarted = container_factory(NotifyService, service_config)
    restarted.start()

    def items_pushed():
        return sum(int(message["message"]["data"]["count"]) for message in fcm_server.messages())

    wait_until(lambda: items_pushed() >= 6, timeout=15)
    time.sleep(1.5)

    # Items that arrive together share a digest, so six items may come as fewer pushes, but
    # every item is in exactly one push.
    assert items_pushed() == 6
    assert notify_db("SELECT count(*) FROM notifications") == [(6,)]
    assert notify_db("SELECT count(DISTINCT notification_id), count(*) FROM digest_items") == [(6, 6)]
    subjects = {message["message"]["data"]["subject"] for message in fcm_server.messages()}
    assert subjects == {"notebook", "photos"}


def test_inbox_pages_and_unread(anna, publish, world, notify_db):
    for _ in range(5):
        publish("messaging", "notebook_entry_added", notebook(world))
    wait_until(lambda: notify_db("SELECT count(*) FROM notifications") == [(5,)])

    first = anna.list_notifications(limit=2)
    second = anna.list_notifications(limit=2, cursor=first["next_cursor"])
    third = anna.list_notifications(limit=2, cursor=second["next_cursor"])

    assert first["unread_count"] == 5
    assert [len(page["items"]) for page in (first, second, third)] == [2, 2, 1]
    assert third["next_cursor"] is None
    ids = [item["id"] for page in (first, second, third) for item in page["items"]]
    assert len(set(ids)) == 5
    assert first["items"][0]["title"] == "Nieuw in het schriftje van Lisa"


def test_inbox_mark_read(anna, publish, world, notify_db):
    for _ in range(3):
        publish("messaging", "notebook_entry_added", notebook(world))
    wait_until(lambda: notify_db("SELECT count(*) FROM notifications") == [(3,)])
    item = anna.list_notifications()["items"][0]

    marked = anna.mark_read(item["id"])
    again = anna.mark_read(item["id"])

    assert marked["unread_count"] == 2
    assert again["read_at"] == marked["read_at"]
    assert anna.mark_all_read()["marked"] == 2
    assert anna.list_notifications()["unread_count"] == 0


def test_inbox_of_other_account_hidden(anna, publish, world, notify_db, service_config, context_data, make_token):
    publish("messaging", "notebook_entry_added", notebook(world))
    wait_until(lambda: notify_db("SELECT count(*) FROM notifications") == [(1,)])
    item = anna.list_notifications()["items"][0]
    carla = NotifyClient(service_config, context_data, make_token, world.accounts["carla"])

    assert carla.list_notifications()["items"] == []
    with pytest.raises(NotFound):
        carla.mark_read(item["id"])
    with pytest.raises(NotFound):
        carla.delivery_log(item["id"])


def test_inbox_rejects_bad_cursor(anna):
    with pytest.raises(InvalidInput):
        anna.list_notifications(cursor="not-a-cursor")


def test_settings_roundtrip_and_validation(anna):
    updated = anna.update_notification_settings({
        "subjects": {"photos": {"email": True}, "news": {"push": False}},
        "quiet_hours": {"enabled": True, "start": "22:30", "end": "06:45"},
    })

    assert updated["subjects"]["photos"] == {"push": True, "email": True}
    assert updated["subjects"]["news"] == {"push": False, "email": True}
    assert updated["quiet_hours"]["start"] == "22:30"
    assert anna.notification_settings() == updated
    with pytest.raises(InvalidInput) as fixed:
        anna.update_notification_settings({"subjects": {"account": {"email": False}}})
    assert fixed.value.code == "notify.account_mail_fixed"
    with pytest.raises(InvalidInput):
        anna.update_notification_settings({"subjects": {"weather": {"push": True}}})
    with pytest.raises(InvalidInput):
        anna.update_notification_settings({"quiet_hours": {"start": "25:00"}})


def test_device_unregister_by_token_and_id(anna, service_config, context_data, make_token, world):
    other = anna.register_device(device_token(), "web", "Browser")

    assert anna.unregister_device(anna.token) == {"removed": 1}
    assert anna.unregister_device(other["id"]) == {"removed": 1}
    assert anna.unregister_device(anna.token) == {"removed": 0}
    assert anna.list_devices() == []
    with pytest.raises(InvalidInput):
        anna.register_device("short", "android", "x")
    with pytest.raises(InvalidInput):
        anna.register_device(device_token(), "symbian", "x")
