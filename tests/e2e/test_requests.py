"""Requests through the gateway with the demo data: illness, replay, access and the calendar feed."""

from __future__ import annotations

import os
import uuid
from datetime import date, timedelta

import pytest
from icalendar import Calendar
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from samen_accounts.models import Placement

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def synced(platform):
    """The platform fixture copies the demo placements into the requests service at start."""
    return platform


def _planned_day(platform, token: str, child_id: str) -> date:
    """Return a planned day of the child at least two weeks ahead."""
    day = date.today() + timedelta(days=14)
    for _ in range(3):
        month = day.strftime("%Y-%m")
        schedule = platform.get(f"/api/v1/children/{child_id}/schedule?month={month}", token=token).json()
        for entry in schedule["days"]:
            if entry["date"] >= day.isoformat() and any(s["status"] == "planned" for s in entry["slots"]):
                return date.fromisoformat(entry["date"])
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    raise AssertionError("no planned day found")


def test_illness_replay_through_gateway(synced):
    token = synced.login("100001")["access_token"]
    child_id = synced.get("/api/v1/me", token=token).json()["children"][0]["id"]
    day = _planned_day(synced, token, child_id)
    key = uuid.uuid4().hex
    headers = {"Idempotency-Key": key}

    first = synced.post(f"/api/v1/children/{child_id}/illness", token=token, headers=headers,
                        json={"start_date": day.isoformat()})
    assert first.status_code == 201, first.text
    replay = synced.post(f"/api/v1/children/{child_id}/illness", token=token, headers=headers,
                         json={"start_date": day.isoformat()})
    assert replay.status_code == 201
    assert replay.json()["id"] == first.json()["id"]
    other = synced.post(f"/api/v1/children/{child_id}/illness", token=token, headers=headers,
                        json={"start_date": (day + timedelta(days=1)).isoformat()})
    assert other.status_code == 409
    duplicate = synced.post(f"/api/v1/children/{child_id}/illness", token=token, json={"start_date": day.isoformat()})
    assert duplicate.status_code == 422
    assert duplicate.json()["error"]["code"] == "duplicate_request"


def test_other_family_child_is_404(synced):
    token = synced.login("100001")["access_token"]
    other_token = synced.login("100002")["access_token"]
    other_child = synced.get("/api/v1/me", token=other_token).json()["children"][0]["id"]
    response = synced.get(f"/api/v1/children/{other_child}/requests", token=token)
    assert response.status_code == 404


def test_naive_timestamp_is_400(synced):
    token = synced.login("100001")["access_token"]
    child_id = synced.get("/api/v1/me", token=token).json()["children"][0]["id"]
    response = synced.post(f"/api/v1/children/{child_id}/absences", token=token,
                           json={"kind": "holiday", "start_date": "2027-03-29T10:00:00"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "naive_timestamp"


def test_calendar_feed_reset(synced):
    token = synced.login("100001")["access_token"]
    child_id = synced.get("/api/v1/me", token=token).json()["children"][0]["id"]
    first = synced.post(f"/api/v1/children/{child_id}/calendar-feed/reset", token=token).json()
    feed = synced.get(first["path"])
    assert feed.status_code == 200
    assert feed.headers["Content-Type"].startswith("text/calendar")
    assert Calendar.from_ical(feed.content).walk("VEVENT")

    second = synced.post(f"/api/v1/children/{child_id}/calendar-feed/reset", token=token).json()
    assert synced.get(first["path"]).status_code == 404
    assert synced.get(second["path"]).status_code == 200
