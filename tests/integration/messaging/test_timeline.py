"""The guardian timeline read model: events, consent at read time, pagination, duplicates."""

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from samen_common.errors import InvalidInput, NotFound

HANDLER = "on_photo_published"


def _photo(publish_event, runner, media_photos, child_ids, group_id, published_at, event_id=None):
    photo_id = str(uuid.uuid4())
    media_photos[photo_id] = child_ids
    publish_event(runner, "media", "photo_published", {
        "photo_id": photo_id, "child_ids": child_ids, "group_id": group_id, "location_id": None,
        "published_at": published_at.isoformat(), "uploaded_by": str(uuid.uuid4()),
    }, HANDLER, event_id=event_id)
    return photo_id


def test_photo_consent_checked_at_read_time(services, world, call, publish_event, media_photos):
    now = datetime.now(timezone.utc)
    alone = _photo(publish_event, services, media_photos, [world.children["anna"]], world.groups["bears"], now)
    with_cas = _photo(publish_event, services, media_photos, [world.children["anna"], world.children["cas"]],
                      world.groups["bears"], now + timedelta(seconds=1))

    refs = [item["ref_id"] for item in call("parent_a", "timeline")["items"]]
    assert alone in refs
    assert with_cas not in refs
    assert call("parent_c", "timeline")["items"] == []


def test_photo_of_two_siblings_appears_once(services, world, call, publish_event, media_photos):
    both = _photo(publish_event, services, media_photos, [world.children["anna"], world.children["bram"]],
                  world.groups["bears"], datetime.now(timezone.utc))

    refs = [item["ref_id"] for item in call("parent_a", "timeline")["items"]]
    assert refs.count(both) == 1


def test_duplicate_event_adds_one_item(services, world, call, publish_event, media_photos, clean_db):
    from sqlalchemy import create_engine, text

    event_id = str(uuid.uuid4())
    now = datetime.now(timezone.utc)
    photo = _photo(publish_event, services, media_photos, [world.children["anna"]], world.groups["bears"], now, event_id)
    publish_event(services, "media", "photo_published", {
        "photo_id": photo, "child_ids": [world.children["bram"]], "group_id": world.groups["owls"],
        "location_id": None, "published_at": now.isoformat(), "uploaded_by": str(uuid.uuid4()),
    }, HANDLER, event_id=event_id)

    engine = create_engine(clean_db["messaging"])
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT child_id FROM timeline_items WHERE ref_id = :id"), {"id": photo}).all()
    engine.dispose()
    assert [str(row[0]) for row in rows] == [world.children["anna"]]


def test_retag_and_delete_update_timeline(services, world, call, publish_event, media_photos):
    photo = _photo(publish_event, services, media_photos, [world.children["anna"]], world.groups["bears"],
                   datetime.now(timezone.utc))
    publish_event(services, "media", "photo_retagged", {
        "photo_id": photo, "child_ids": [world.children["dewi"]], "previous_child_ids": [world.children["anna"]],
    }, "on_photo_retagged")

    assert photo not in [i["ref_id"] for i in call("parent_a", "timeline")["items"]]
    assert photo in [i["ref_id"] for i in call("parent_d", "timeline")["items"]]

    publish_event(services, "media", "photo_deleted", {"photo_id": photo, "child_ids": [world.children["dewi"]]},
                  "on_photo_deleted")
    assert photo not in [i["ref_id"] for i in call("parent_d", "timeline")["items"]]


def test_photos_left_out_without_media(services_without_media, world, call, publish_event, media_photos):
    _photo(publish_event, services_without_media, media_photos, [world.children["anna"]], world.groups["bears"],
           datetime.now(timezone.utc))
    call("parent_a", "post_child_message", world.children["anna"], "Still works")

    kinds = [item["kind"] for item in call("parent_a", "timeline")["items"]]
    assert kinds == ["message"]


def test_pagination_without_gaps_while_items_arrive(services, world, call):
    for number in range(7):
        call("parent_a", "post_child_message", world.children["anna" if number % 2 else "bram"], f"message {number}")

    seen = []
    arrived = 0
    page = call("parent_a", "timeline", None, None, 3)
    while True:
        seen.extend(item["id"] for item in page["items"])
        call("staff_bears", "post_child_message", world.children["anna"], "arrives while paging")
        arrived += 1
        if not page["next_cursor"]:
            break
        page = call("parent_a", "timeline", None, page["next_cursor"], 3)

    assert len(seen) == len(set(seen))
    assert len(seen) == 7
    newest = call("parent_a", "timeline", None, None, 100)["items"]
    assert len(newest) == 7 + arrived


def test_child_filter_and_foreign_child(services, world, call):
    call("parent_a", "post_child_message", world.children["anna"], "about anna")
    call("parent_a", "post_child_message", world.children["bram"], "about bram")

    items = call("parent_a", "timeline", world.children["bram"])["items"]
    assert {item["child_id"] for item in items} == {world.children["bram"]}
    with pytest.raises(NotFound):
        call("parent_a", "timeline", world.children["cas"])
    with pytest.raises(NotFound):
        call("staff_bears", "timeline")


def test_invalid_cursor_rejected(services, world, call):
    with pytest.raises(InvalidInput) as error:
        call("parent_a", "timeline", None, "not-a-cursor")
    assert error.value.code == "invalid_cursor"


def test_request_decision_in_timeline(services, world, call, publish_event):
    request_id = str(uuid.uuid4())
    publish_event(services, "requests", "request_decided", {
        "request_id": request_id, "child_id": world.children["anna"], "group_id": world.groups["bears"],
        "kind": "swap_day", "state": "approved", "date": "2026-12-10",
    }, "on_request_decided")

    items = [i for i in call("parent_a", "timeline")["items"] if i["kind"] == "request"]
    assert items[0]["ref_id"] == request_id
    assert items[0]["summary"]["state"] == "approved"
    assert call("parent_c", "timeline")["items"] == []


def _attendance(publish_event, runner, world, kind, at, attendance_id=None, event_id=None, **extra):
    attendance_id = attendance_id or str(uuid.uuid4())
    publish_event(runner, "accounts", f"child_{kind}", {
        "attendance_id": attendance_id, "child_id": world.children["anna"], "group_id": world.groups["bears"],
        "at": at.isoformat(), "recorded_by": world.accounts["staff_bears"], **extra,
    }, f"on_child_{kind}", event_id=event_id)
    return attendance_id


def test_check_in_and_out_in_timeline(services, world, call, publish_event):
    # 07:15 and 16:05 UTC on a winter day are 8:15 and 17:05 in Amsterdam.
    day = datetime(2026, 12, 3, tzinfo=timezone.utc)
    attendance = _attendance(publish_event, services, world, "checked_out", day + timedelta(hours=16, minutes=5),
                             collected_by="Oma Els")
    _attendance(publish_event, services, world, "checked_in", day + timedelta(hours=7, minutes=15),
                attendance_id=attendance)

    items = [i for i in call("parent_a", "timeline")["items"] if i["kind"] in ("check_in", "check_out")]
    assert [i["kind"] for i in items] == ["check_out", "check_in"]
    assert items[0]["text"] == "Anna is om 17:05 opgehaald door Oma Els."
    assert items[1]["text"] == "Anna is om 8:15 gebracht."
    assert items[0]["occurred_at"] == (day + timedelta(hours=16, minutes=5)).isoformat()
    assert not [i for i in call("parent_d", "timeline")["items"] if i["kind"] == "check_in"]


def test_check_in_text_in_english_and_once(services, world, call, publish_event, context_data, service_config):
    from nameko.standalone.rpc import ServiceRpcProxy

    event_id = str(uuid.uuid4())
    at = datetime(2026, 7, 1, 6, 30, tzinfo=timezone.utc)  # 8:30 in Amsterdam summer time
    attendance = _attendance(publish_event, services, world, "checked_in", at, event_id=event_id)
    _attendance(publish_event, services, world, "checked_in", at + timedelta(hours=1), attendance_id=attendance,
                event_id=event_id)

    data = context_data(world.tokens["parent_a"], language="en")
    with ServiceRpcProxy("messaging", service_config, context_data=data) as proxy:
        items = [i for i in proxy.timeline()["items"] if i["kind"] == "check_in"]
    assert [i["text"] for i in items] == ["Anna was dropped off at 8:30."]
