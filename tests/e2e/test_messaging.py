"""Messages, notebook, keepsake PDF and news through the gateway with the demo data."""

import io
import time
import uuid

import pytest
from pypdf import PdfReader

from tests.e2e.test_media import jpeg, upload, wait_ready


@pytest.fixture(scope="module")
def people(platform):
    tokens = {number: platform.login(number)["access_token"] for number in ("100001", "100002", "100003", "900001", "900002")}
    anouk_children = platform.get("/api/v1/me", tokens["100001"]).json()["children"]
    vlinders = next(child for child in anouk_children if child["group_name"] == "Vlinders")
    other = next(child for child in anouk_children if child["group_name"] != "Vlinders")
    mark_child = platform.get("/api/v1/me", tokens["100002"]).json()["children"][0]
    return {"tokens": tokens, "child": vlinders, "other_child": other, "mark_child": mark_child,
            "staff": tokens["900001"], "anouk": tokens["100001"], "pieter": tokens["100003"], "mark": tokens["100002"],
            "coordinator": tokens["900002"]}


def test_both_guardians_share_thread_and_receipts(platform, people):
    child = people["child"]["id"]
    first = platform.post(f"/api/v1/children/{child}/messages", people["anouk"], json={"body": "Ze heeft slecht geslapen."})
    assert first.status_code == 201, first.text
    assert "dringend" in first.json()["notice"]
    second = platform.post(f"/api/v1/children/{child}/messages", people["pieter"], json={"body": "Ik haal haar om vier uur."})
    thread_id = first.json()["thread"]["id"]
    assert second.json()["thread"]["id"] == thread_id

    assert platform.get(f"/api/v1/threads/{thread_id}", people["mark"]).status_code == 404
    assert platform.get(f"/api/v1/threads/{uuid.uuid4()}", people["anouk"]).status_code == 404

    inbox = platform.get("/api/v1/threads", people["staff"], params={"group_id": people["child"]["group_id"]}).json()
    assert next(t for t in inbox if t["id"] == thread_id)["unread_count"] >= 2
    thread = platform.get(f"/api/v1/threads/{thread_id}", people["staff"]).json()
    readers = {r["reader_name"] for r in thread["messages"][0]["read_by"]}
    assert "Fatima El Amrani" in readers
    assert "Anouk de Vries" in readers


def test_message_limits_and_english_notice(platform, people):
    child = people["mark_child"]["id"]
    empty = platform.post(f"/api/v1/children/{child}/messages", people["mark"], json={"body": ""})
    assert empty.status_code == 400
    assert empty.json()["error"]["code"] == "message_empty"
    long = platform.post(f"/api/v1/children/{child}/messages", people["mark"], json={"body": "a" * 2001})
    assert long.status_code == 400
    assert "2000" in long.json()["error"]["message"]
    ok = platform.post(f"/api/v1/children/{child}/messages", people["mark"], json={"body": "He has a cold."})
    assert "urgent" in ok.json()["notice"]


def test_notebook_pdf_shows_only_consented_photos(platform, people):
    child, mark_child = people["child"]["id"], people["mark_child"]["id"]
    alone = upload(platform, people, [("alone.jpg", jpeg())], [child]).json()["items"][0]["id"]
    group = upload(platform, people, [("group.jpg", jpeg())], [child, mark_child]).json()["items"][0]["id"]
    wait_ready(platform, people, alone)
    wait_ready(platform, people, group)

    entry = platform.post(f"/api/v1/children/{child}/notebook", people["staff"], json={
        "text": "Samen met de blokken gespeeld", "items": {"eating": "Alles op"}, "photo_ids": [alone, group],
    })
    assert entry.status_code == 201, entry.text
    naive = platform.post(f"/api/v1/children/{child}/notebook", people["staff"],
                          json={"text": "x", "written_at": "2026-12-04T10:00:00"})
    assert naive.status_code == 400

    listed = platform.get(f"/api/v1/children/{child}/notebook", people["anouk"]).json()
    assert [p["id"] for p in listed[0]["photos"]] == [alone]

    pdf = platform.get(f"/api/v1/children/{child}/notebook.pdf", people["anouk"])
    assert pdf.status_code == 200
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment;")
    # The gateway deletes the stored keepsake when the response closes, just after the last byte.
    def stored_keepsakes():
        return [path for path in (platform.data_dir / "storage" / "keepsakes").rglob("*") if path.is_file()]

    deadline = time.monotonic() + 10
    while stored_keepsakes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not stored_keepsakes()
    reader = PdfReader(io.BytesIO(pdf.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Samen met de blokken gespeeld" in text
    assert "Schriftje van" in text
    assert sum(len(page.images) for page in reader.pages) == 1
    assert platform.get(f"/api/v1/children/{child}/notebook.pdf", people["mark"]).status_code == 404


def test_news_audiences(platform, people):
    location = platform.post("/api/v1/news", people["coordinator"], json={
        "title": "Nieuws Centrum", "body": "Voor locatie Centrum", "location_ids": [people["child"]["location_id"]],
    })
    assert location.status_code == 201, location.text
    group = platform.post("/api/v1/news", people["staff"], json={
        "title": "Nieuws Vlinders", "body": "Voor de Vlinders", "group_ids": [people["child"]["group_id"]],
    })
    assert group.status_code == 201, group.text
    assert platform.post("/api/v1/news", people["staff"], json={"title": "Iedereen", "body": "x"}).status_code == 403

    titles = {item["title"] for item in platform.get("/api/v1/news", people["mark"]).json()}
    assert {"Nieuws Centrum", "Nieuws Vlinders"} <= titles
    item = platform.get(f"/api/v1/news/{group.json()['id']}", people["anouk"]).json()
    assert item["read"] is True


def test_staff_group_notebook_and_day(platform, people):
    group_id = people["child"]["group_id"]
    response = platform.post(f"/api/v1/groups/{group_id}/notebook", people["staff"], json={
        "child_ids": [people["child"]["id"], people["mark_child"]["id"]], "text": "Naar de kinderboerderij",
    })
    assert response.status_code == 201, response.text
    mark_entries = platform.get(f"/api/v1/children/{people['mark_child']['id']}/notebook", people["mark"]).json()
    assert {e["child_id"] for e in mark_entries} == {people["mark_child"]["id"]}

    day = platform.get(f"/api/v1/groups/{group_id}/day", people["staff"]).json()
    assert any(child["notebook_entries"] >= 1 for child in day["children"])
    assert platform.get(f"/api/v1/groups/{group_id}/day", people["anouk"]).status_code == 404


def test_notebook_hostile_dates_answer_400(platform, people):
    child = people["child"]["id"]
    wide = platform.get(f"/api/v1/children/{child}/notebook", people["anouk"],
                        params={"from": "1900-01-01", "to": "9999-12-31"})
    assert wide.status_code == 400
    assert wide.json()["error"]["code"] == "date_out_of_range"
    assert "from" in wide.json()["error"]["details"]

    long = platform.get(f"/api/v1/children/{child}/notebook", people["anouk"],
                        params={"from": "2020-01-01", "to": "2026-01-01"})
    assert long.status_code == 400
    assert long.json()["error"]["details"] == {"to": ["period_too_long"]}

    pdf = platform.get(f"/api/v1/children/{child}/notebook.pdf", people["anouk"], params={"to": "9999-12-31"})
    assert pdf.status_code == 400

    future = platform.post(f"/api/v1/children/{child}/notebook", people["staff"],
                           json={"text": "x", "written_at": "2999-01-01T10:00:00+01:00"})
    assert future.status_code == 400
    assert future.json()["error"]["details"] == {"written_at": ["time_out_of_range"]}
