"""Notification settings, devices, pushes, inbox and account mail over HTTP with the demo data."""

from __future__ import annotations

import re
import secrets
import time

import pytest
import requests


def device_token() -> str:
    return secrets.token_urlsafe(16) + ":APA91b" + secrets.token_urlsafe(105)


def wait_for_push(platform, token: str, count: int = 1, timeout: float = 20.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        received = [m for m in platform.fcm_messages() if m["message"]["token"] == token]
        if len(received) >= count:
            return received
        time.sleep(0.3)
    return [m for m in platform.fcm_messages() if m["message"]["token"] == token]


def delete(platform, path: str, token: str) -> requests.Response:
    return requests.delete(f"{platform.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=15)


@pytest.fixture(scope="module")
def anouk(platform):
    """Guardian 100001 with a fresh device and quiet hours off, so the test passes at night too."""
    access = platform.login("100001")["access_token"]
    token = device_token()
    registered = platform.post("/api/v1/me/devices", access, json={"token": token, "platform": "android",
                                                                   "name": "Pixel 8"})
    assert registered.status_code == 201, registered.text
    settings = platform.put("/api/v1/me/notification-settings", access, json={"quiet_hours": {"enabled": False}})
    assert settings.status_code == 200, settings.text
    return {"access": access, "device": token, "device_id": registered.json()["id"]}


def test_settings_defaults_and_update(platform):
    access = platform.login("100002")["access_token"]

    before = platform.get("/api/v1/me/notification-settings", access).json()
    changed = platform.put("/api/v1/me/notification-settings", access,
                           json={"subjects": {"photos": {"email": True}}, "quiet_hours": {"start": "22:00"}})
    fixed = platform.put("/api/v1/me/notification-settings", access, json={"subjects": {"account": {"email": False}}},
                         headers={"Accept-Language": "en"})

    assert before["subjects"]["photos"] == {"push": True, "email": False}
    assert before["quiet_hours"]["start"] == "21:00"
    assert changed.json()["subjects"]["photos"] == {"push": True, "email": True}
    assert changed.json()["quiet_hours"]["start"] == "22:00"
    assert fixed.status_code == 400
    assert "always sent" in fixed.json()["error"]["message"]


def test_staff_message_pushes_guardian(platform, anouk):
    children = platform.get("/api/v1/me", anouk["access"]).json()["children"]
    staff = platform.login("900001")["access_token"]
    staff_groups = {group["id"] for group in platform.get("/api/v1/me", staff).json()["groups"]}
    child = next(child for child in children if child["group_id"] in staff_groups)

    posted = platform.post(f"/api/v1/children/{child['id']}/messages", staff,
                           json={"body": "Ze had vandaag koorts, graag ophalen."})
    assert posted.status_code in (200, 201), posted.text
    def about_messages(title: str) -> bool:
        return title.startswith("Er is een nieuw bericht") or "nieuwe berichten" in title

    deadline = time.monotonic() + 40
    received = wait_for_push(platform, anouk["device"])
    while time.monotonic() < deadline and not any(
        about_messages(message["message"]["notification"]["title"]) for message in received
    ):
        time.sleep(0.5)
        received = wait_for_push(platform, anouk["device"], timeout=0)

    # Earlier tests of the session may have left messages in a digest that switching quiet
    # hours off released, so more than one push can arrive; each is a separate digest.
    assert received
    titles = [message["message"]["notification"]["title"] for message in received]
    assert any(child["first_name"] in title for title in titles), titles
    assert any(about_messages(title) for title in titles), titles
    assert all("koorts" not in str(message) for message in received)
    digests = [message["message"]["data"]["digest_id"] for message in received]
    assert len(digests) == len(set(digests))
    inbox = platform.get("/api/v1/me/notifications", anouk["access"]).json()
    assert inbox["unread_count"] >= 1
    item = next(item for item in inbox["items"] if item["subject"] == "messages")
    read = platform.post(f"/api/v1/me/notifications/{item['id']}/read", anouk["access"])
    assert read.status_code == 200
    log = platform.get(f"/api/v1/me/notifications/{item['id']}/deliveries", anouk["access"]).json()
    assert ("push", "sent") in {(step["channel"], step["status"]) for step in log}


def test_foreign_notification_is_404(platform, anouk):
    item = platform.get("/api/v1/me/notifications", anouk["access"]).json()["items"]
    other = platform.login("100002")["access_token"]
    if not item:
        pytest.skip("no notification for 100001 yet")

    response = platform.post(f"/api/v1/me/notifications/{item[0]['id']}/read", other)

    assert response.status_code == 404


def test_logout_unregisters_device(platform):
    tokens = platform.login("100003")
    token = device_token()
    assert platform.post("/api/v1/me/devices", tokens["access_token"],
                         json={"token": token, "platform": "ios"}).status_code == 201

    platform.post("/api/v1/auth/logout", tokens["access_token"],
                  json={"refresh_token": tokens["refresh_token"], "device_token": token})

    fresh = platform.login("100003")["access_token"]
    assert platform.get("/api/v1/me/devices", fresh).json() == []


def test_delete_device_by_id(platform):
    access = platform.login("100002")["access_token"]
    device = platform.post("/api/v1/me/devices", access, json={"token": device_token(), "platform": "web"}).json()

    removed = delete(platform, f"/api/v1/me/devices/{device['id']}", access)

    assert removed.status_code == 200
    assert removed.json() == {"removed": 1}


def test_reset_mail_has_portal_link(platform):
    platform.post("/api/v1/auth/password-reset", json={"account_number": "100002"})

    message = platform.wait_for_mail(lambda m: "wachtwoord" in m["Subject"].lower() or "password" in m["Subject"].lower())

    text = message.get_body(preferencelist=("plain",)).get_content()
    assert re.search(re.escape(platform.url) + r"/reset-password\?token=[\w%-]+", text)


def test_settings_put_back_as_read(platform):
    access = platform.login("100002")["access_token"]
    current = platform.get("/api/v1/me/notification-settings", access).json()
    current["subjects"]["news"]["push"] = False

    response = platform.put("/api/v1/me/notification-settings", access, json=current)

    assert response.status_code == 200, response.text
    assert response.json()["subjects"]["news"]["push"] is False
