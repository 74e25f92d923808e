"""News audiences, roles, scheduling, read state and PDF attachments."""

import base64
from datetime import datetime, timedelta, timezone

import pytest
from nameko.testing.services import entrypoint_hook
from nameko.testing.utils import get_container

from samen_common.errors import Forbidden, InvalidInput, NotFound, PayloadTooLarge

from tests.integration.messaging.storage import stored_pdf

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _titles(call, who):
    return {item["title"] for item in call(who, "list_news")}


def test_audiences(services, world, call):
    call("admin", "create_news", "Whole organisation", "For everyone")
    call("coordinator_north", "create_news", "North location", "Only north", "item", [world.locations["north"]])
    call("staff_bears", "create_news", "Bears group", "Only bears", "item", [], [world.groups["bears"]])
    call("staff_foxes", "create_news", "Foxes group", "Only foxes", "item", [], [world.groups["foxes"]])

    assert _titles(call, "parent_a") == {"Whole organisation", "North location", "Bears group"}
    assert _titles(call, "parent_c") == {"Whole organisation", "North location", "Bears group"}
    assert _titles(call, "parent_d") == {"Whole organisation", "Foxes group"}


def test_roles_for_audiences(services, world, call):
    with pytest.raises(Forbidden):
        call("staff_bears", "create_news", "Everyone", "Not allowed")
    with pytest.raises(Forbidden):
        call("staff_bears", "create_news", "North", "Not allowed", "item", [world.locations["north"]])
    with pytest.raises(NotFound):
        call("staff_bears", "create_news", "Foxes", "Not my group", "item", [], [world.groups["foxes"]])
    with pytest.raises(NotFound):
        call("coordinator_north", "create_news", "South", "Not my location", "item", [world.locations["south"]])
    with pytest.raises(Forbidden):
        call("coordinator_north", "create_news", "Everyone", "Needs organisation-wide role")
    with pytest.raises(NotFound):
        call("parent_a", "create_news", "Parent", "Parents do not post news")
    with pytest.raises(InvalidInput):
        call("admin", "create_news", " ", "No title")


def test_read_state_per_guardian(services, world, call):
    item = call("admin", "create_news", "Closing day", "We are closed on Friday")

    call("parent_a", "get_news", item["id"])
    assert call("parent_a", "list_news")[0]["read"] is True
    assert call("parent_a2", "list_news")[0]["read"] is False
    assert call("admin", "get_news", item["id"])["read_count"] == 1


def test_scheduled_news_published_by_timer(services, world, call):
    later = (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()
    item = call("staff_bears", "create_news", "Tomorrow", "Scheduled", "item", [], [world.groups["bears"]], later)
    assert item["published_at"] is None
    assert _titles(call, "parent_a") == set()
    with pytest.raises(NotFound):
        call("parent_a", "get_news", item["id"])
    with pytest.raises(InvalidInput):
        call("admin", "create_news", "Naive", "x", "item", [], [], "2026-12-24T08:00:00")

    import time

    time.sleep(1.2)
    from samen_messaging.service import MessagingService

    with entrypoint_hook(get_container(services, MessagingService), "publish_due_news") as publish:
        assert publish() == 1
        assert publish() == 0
    assert _titles(call, "parent_a") == {"Tomorrow"}
    assert [i["kind"] for i in call("parent_a", "timeline")["items"]] == ["news"]


def test_pdf_attachments(services, world, call):
    item = call("coordinator_north", "create_news", "Newsletter", "December", "newsletter", [world.locations["north"]])
    key, size = stored_pdf()
    attachment = call("coordinator_north", "add_news_attachment", item["id"], "../december.pdf", key, size)
    assert attachment["filename"] == "december.pdf"
    assert attachment["size"] == size

    with pytest.raises(PayloadTooLarge):
        call("coordinator_north", "add_news_attachment", item["id"], "big.pdf", key, 10 * 1024 * 1024 + 1)
    with pytest.raises(NotFound):
        call("staff_foxes", "add_news_attachment", item["id"], "x.pdf", *stored_pdf())

    downloaded = call("parent_a", "news_attachment", item["id"], attachment["id"])
    assert downloaded["key"] == key
    assert "content_base64" not in downloaded
    with pytest.raises(NotFound):
        call("parent_d", "news_attachment", item["id"], attachment["id"])


@pytest.mark.parametrize("storage_key, size", [
    ("photos/abc/original.jpg", 10),
    ("documents/../../etc/passwd", 10),
    ("", 10),
])
def test_attachment_key_outside_documents(services, world, call, storage_key, size):
    item = call("coordinator_north", "create_news", "Keys", "x", "newsletter", [world.locations["north"]])
    with pytest.raises(InvalidInput):
        call("coordinator_north", "add_news_attachment", item["id"], "x.pdf", storage_key, size)


def test_attachment_needs_stored_object(services, world, call):
    item = call("coordinator_north", "create_news", "Missing", "x", "newsletter", [world.locations["north"]])
    key, size = stored_pdf()
    with pytest.raises(InvalidInput):
        call("coordinator_north", "add_news_attachment", item["id"], "x.pdf", key, size + 1)
    with pytest.raises(InvalidInput):
        call("coordinator_north", "add_news_attachment", item["id"], "x.pdf", "documents/none/document.pdf", 5)
    assert call("coordinator_north", "get_news", item["id"])["attachments"] == []


def test_legacy_attachment_sent_from_database(services, world, call, clean_db):
    """An attachment stored before object storage keeps its bytes in the database and still downloads."""
    import uuid

    from sqlalchemy import create_engine, text

    item = call("coordinator_north", "create_news", "Old", "x", "newsletter", [world.locations["north"]])
    attachment_id = uuid.uuid4()
    engine = create_engine(clean_db["messaging"])
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO news_attachments (id, news_id, filename, content_type, size, content) "
                     "VALUES (:id, :news_id, 'old.pdf', 'application/pdf', :size, :content)"),
                {"id": attachment_id, "news_id": item["id"], "size": len(PDF), "content": PDF},
            )
            with pytest.raises(Exception, match="one_place"):
                with connection.begin_nested():
                    connection.execute(text("UPDATE news_attachments SET storage_key = 'documents/x' WHERE id = :id"),
                                       {"id": attachment_id})
    finally:
        engine.dispose()
    downloaded = call("parent_a", "news_attachment", item["id"], str(attachment_id))
    assert base64.b64decode(downloaded["content_base64"]) == PDF


def test_news_published_event(services, world, call, clean_db):
    from sqlalchemy import create_engine, text

    item = call("staff_bears", "create_news", "Bears", "Hello", "item", [], [world.groups["bears"]])
    engine = create_engine(clean_db["messaging"])
    with engine.connect() as connection:
        payload = connection.execute(text("SELECT payload FROM outbox WHERE event_type = 'news_published'")).scalar_one()
    engine.dispose()
    assert payload["news_id"] == item["id"]
    assert payload["group_ids"] == [world.groups["bears"]]
    assert payload["location_ids"] == []
    assert "title" not in payload
