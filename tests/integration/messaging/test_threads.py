"""Group messages through the real broker and database."""

from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from samen_common.errors import InvalidInput, NotFound


def test_both_guardians_share_one_thread(services, world, call):
    first = call("parent_a", "post_child_message", world.children["anna"], "Anna slept badly last night.")
    second = call("parent_a2", "post_child_message", world.children["anna"], "She may be tired today.")

    assert first["thread"]["id"] == second["thread"]["id"]
    assert first["thread"]["group_id"] == world.groups["bears"]
    threads = call("parent_a2", "list_threads")
    assert [t["id"] for t in threads] == [first["thread"]["id"]]
    assert threads[0]["message_count"] == 2


def test_other_family_gets_not_found(services, world, call):
    posted = call("parent_a", "post_child_message", world.children["anna"], "Hello")
    thread_id = posted["thread"]["id"]

    with pytest.raises(NotFound):
        call("parent_c", "get_thread", thread_id)
    with pytest.raises(NotFound):
        call("parent_c", "post_thread_message", thread_id, "Not my child")
    with pytest.raises(NotFound):
        call("parent_c", "post_child_message", world.children["anna"], "Not my child")
    with pytest.raises(NotFound):
        call("staff_foxes", "get_thread", thread_id)
    with pytest.raises(NotFound):
        call("parent_a", "get_thread", "00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotFound):
        call("parent_a", "get_thread", "not-an-id")
    assert call("parent_c", "list_threads") == []


def test_read_receipts_per_reader(services, world, call):
    posted = call("parent_a", "post_child_message", world.children["anna"], "Question about lunch")
    thread_id = posted["thread"]["id"]

    inbox = call("staff_bears", "list_threads", world.groups["bears"])
    assert inbox[0]["unread_count"] == 1

    thread = call("staff_bears", "get_thread", thread_id)
    readers = {r["reader_id"]: r for r in thread["messages"][0]["read_by"]}
    assert world.accounts["staff_bears"] in readers
    assert readers[world.accounts["staff_bears"]]["reader_kind"] == "staff"
    assert readers[world.accounts["staff_bears"]]["reader_name"] == "Staff Bears"
    assert world.accounts["parent_a"] in readers
    assert world.accounts["parent_a2"] not in readers
    assert call("staff_bears", "list_threads", world.groups["bears"])[0]["unread_count"] == 0

    call("staff_bears", "post_thread_message", thread_id, "Lunch was pasta.")
    assert call("parent_a2", "list_threads")[0]["unread_count"] == 2
    call("parent_a2", "get_thread", thread_id)
    assert call("parent_a2", "list_threads")[0]["unread_count"] == 0
    assert call("parent_a", "list_threads", None, world.children["anna"])[0]["unread_count"] == 1


def test_message_length_limits(services, world, call):
    with pytest.raises(InvalidInput) as empty:
        call("parent_a", "post_child_message", world.children["anna"], "   ")
    assert empty.value.code == "message_empty"

    with pytest.raises(InvalidInput) as long:
        call("parent_a", "post_child_message", world.children["anna"], "x" * 2001)
    assert long.value.code == "message_too_long"
    assert "2001" in long.value.messages["en"]

    assert call("parent_a", "post_child_message", world.children["anna"], "x" * 2000)["message"]["body"] == "x" * 2000


def test_guardian_gets_notice_in_own_language(services, world, call):
    english = call("parent_c", "post_child_message", world.children["cas"], "Cas has a cold.")
    dutch = call("parent_a", "post_child_message", world.children["anna"], "Anna heeft koorts.")

    assert "urgent" in english["notice"]
    assert "dringend" in dutch["notice"]
    staff_reply = call("staff_bears", "post_thread_message", dutch["thread"]["id"], "Beterschap!")
    assert "notice" not in staff_reply


def test_message_posted_event_in_outbox(services, world, call, clean_db):
    posted = call("parent_a", "post_child_message", world.children["bram"], "Bram is picked up by grandma.")

    engine = create_engine(clean_db["messaging"])
    with engine.connect() as connection:
        payload = connection.execute(
            text("SELECT payload FROM outbox WHERE event_type = 'message_posted'")
        ).scalar_one()
    engine.dispose()
    assert payload["message_id"] == posted["message"]["id"]
    assert payload["child_id"] == world.children["bram"]
    assert payload["group_id"] == world.groups["owls"]
    assert payload["author_kind"] == "guardian"
    assert "body" not in payload
    datetime.fromisoformat(payload["occurred_at"])


def test_photo_attachments_need_media(services, world, call, media_photos):
    media_photos["p1"] = [world.children["anna"]]
    posted = call("staff_bears", "post_child_message", world.children["anna"], "Look!", ["p1"])
    thread = call("parent_a", "get_thread", posted["thread"]["id"])
    assert [p["id"] for p in thread["messages"][0]["photos"]] == ["p1"]

    with pytest.raises(InvalidInput) as unknown:
        call("staff_bears", "post_child_message", world.children["anna"], "Look!", ["p-unknown"])
    assert unknown.value.code == "photo_not_available"


def test_thread_reads_without_media(services_without_media, world, call):
    posted = call("parent_a", "post_child_message", world.children["anna"], "Hello without media")
    thread = call("parent_a", "get_thread", posted["thread"]["id"])
    assert thread["messages"][0]["body"] == "Hello without media"
