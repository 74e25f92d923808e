"""The guardian timeline through the gateway: consent, pagination and the child filter."""

import time

from tests.e2e.test_media import jpeg, upload, wait_ready
from tests.e2e.test_messaging import people  # noqa: F401 - module fixture shared with these tests


def _timeline(platform, token, **params):
    response = platform.get("/api/v1/timeline", token, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _wait_for_item(platform, token, ref_id, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ref_id in [item["ref_id"] for item in _timeline(platform, token, limit=100)["items"]]:
            return True
        time.sleep(0.3)
    return False


def test_photo_consent_in_timeline(platform, people):
    child, mark_child = people["child"]["id"], people["mark_child"]["id"]
    alone = upload(platform, people, [("alone.jpg", jpeg())], [child]).json()["items"][0]["id"]
    group = upload(platform, people, [("group.jpg", jpeg())], [child, mark_child]).json()["items"][0]["id"]
    wait_ready(platform, people, alone)
    wait_ready(platform, people, group)

    assert _wait_for_item(platform, people["anouk"], alone)
    refs = [item["ref_id"] for item in _timeline(platform, people["anouk"], limit=100)["items"]]
    assert group not in refs
    assert group not in [item["ref_id"] for item in _timeline(platform, people["mark"], limit=100)["items"]]


def test_pagination_while_items_arrive(platform, people):
    child = people["other_child"]["id"]
    for number in range(5):
        platform.post(f"/api/v1/children/{child}/messages", people["anouk"], json={"body": f"bericht {number}"})

    seen = []
    page = _timeline(platform, people["anouk"], child_id=child, limit=2)
    while True:
        seen.extend(item["id"] for item in page["items"])
        platform.post(f"/api/v1/children/{child}/messages", people["anouk"], json={"body": "tussendoor"})
        if not page["next_cursor"]:
            break
        page = _timeline(platform, people["anouk"], child_id=child, limit=2, cursor=page["next_cursor"])

    assert len(seen) == len(set(seen))
    # Other tests of the session add items for this child too (requests, check-ins), so count
    # only the messages: the five sent before paging must all be there.
    assert len([item for item in seen if item.startswith("message:")]) >= 5


def test_timeline_rejects_foreign_child_and_bad_cursor(platform, people):
    assert platform.get("/api/v1/timeline", people["anouk"], params={"child_id": people["mark_child"]["id"]}).status_code == 404
    bad = platform.get("/api/v1/timeline", people["anouk"], params={"cursor": "%%%"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_cursor"
    assert platform.get("/api/v1/timeline", people["staff"]).status_code == 404
