"""Consumed events, closing days that cancel requests, and freed places, on a real broker and database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, time as clock_time, timedelta, timezone
from decimal import Decimal

import amqp
import pytest
from nameko.standalone.events import event_dispatcher
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from samen_common.contracts import DEAD_LETTER_QUEUE, staff_contract
from samen_common.timeutil import AMSTERDAM
from samen_requests.models import OutboxMessage, PlacementCopy
from samen_staff.publisher import StaffPublisher, connection_parameters

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def wait_for(check, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def samen_staff(org, *args, actor="900002"):
    env = dict(os.environ, SAMEN_STAFF_AMQP_URI=org.config["AMQP_URI"], SAMEN_STAFF_ACTOR=actor,
               PYTHONPATH=os.pathsep.join(os.path.join(ROOT, p) for p in ("common", "tools")))
    return subprocess.run([sys.executable, "-m", "samen_staff.cli", "--lang", "en", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def dead_letters(org):
    connection = amqp.Connection(**connection_parameters(org.config["AMQP_URI"]))
    connection.connect()
    try:
        channel = connection.channel()
        messages = []
        while (message := channel.basic_get(DEAD_LETTER_QUEUE, no_ack=True)) is not None:
            messages.append(message)
        return messages
    finally:
        connection.close()


def request_of(org, child_ref, request_id, guardian="100001"):
    rows = org.call("child_requests", org.children[child_ref], as_=guardian)
    return next(row for row in rows if row["id"] == request_id)


def closing_days_on(org, day):
    listed = org.call("list_closing_days", org.location_id, day.isoformat(), day.isoformat(), as_="900002")
    return [c for c in listed if c["kind"] != "national_holiday"]


def outbox_payloads(clean_db, event_type):
    engine = create_engine(clean_db["requests"])
    try:
        with Session(engine) as session:
            rows = session.scalars(select(OutboxMessage).where(OutboxMessage.event_type == event_type))
            return [row.payload for row in rows]
    finally:
        engine.dispose()


def placements_of(clean_db, child_id):
    engine = create_engine(clean_db["requests"])
    try:
        with Session(engine) as session:
            return list(session.scalars(select(PlacementCopy).where(PlacementCopy.child_id == uuid.UUID(child_id))))
    finally:
        engine.dispose()


def dispatch(org, event_type, occurred_at=None, event_id=None, **facts):
    payload = {"event_id": event_id or str(uuid.uuid4()), "event_type": event_type, "schema_version": 1,
               "occurred_at": (occurred_at or datetime.now(timezone.utc)).isoformat(), **facts}
    event_dispatcher(org.config)("accounts", event_type, payload)
    return payload


# The coordinator's tool.


def test_staff_tool_closing_day_cancels_extra_day(org_with_actor_lookup, clean_db):
    org = org_with_actor_lookup
    wednesday = org.day(1, 3)
    extra = org.call("request_extra_day", org.children["c1"], wednesday.isoformat(), "whole_day", as_="100001")
    assert extra["state"] == "approved"

    event_id = str(uuid.uuid4())
    result = samen_staff(org, "add-closing-day", "--location-id", org.location_id, "--day", wednesday.isoformat(),
                         "--name-nl", "Studiedag", "--name-en", "Training day", "--event-id", event_id)
    assert result.returncode == 0, result.stderr
    assert "Accepted: closing_day_added" in result.stdout

    closings = wait_for(lambda: closing_days_on(org, wednesday))
    assert [c["name_en"] for c in closings] == ["Training day"]
    cancelled = wait_for(lambda: request_of(org, "c1", extra["id"])["state"] == "cancelled")
    assert cancelled
    assert request_of(org, "c1", extra["id"])["reason_code"] == "closed_day"
    decided = [p for p in outbox_payloads(clean_db, "request_decided") if p["request_id"] == extra["id"]]
    assert [p["state"] for p in decided] == ["approved", "cancelled"]
    assert decided[-1]["decided_by"] == org.accounts["900002"]

    again = samen_staff(org, "add-closing-day", "--location-id", org.location_id, "--day", wednesday.isoformat(),
                        "--name-nl", "Studiedag", "--event-id", event_id)
    assert again.returncode == 0, again.stderr
    time.sleep(1.5)
    assert len(closing_days_on(org, wednesday)) == 1
    assert dead_letters(org) == []


def test_staff_tool_closing_day_needs_coordinator(org_with_actor_lookup):
    org = org_with_actor_lookup
    thursday = org.day(1, 4)
    result = samen_staff(org, "add-closing-day", "--location-id", org.location_id, "--day", thursday.isoformat(),
                         actor="900001")
    assert result.returncode == 0, result.stderr

    rejected = wait_for(lambda: dead_letters(org))
    assert len(rejected) == 1
    assert closing_days_on(org, thursday) == []


def test_staff_tool_closing_day_in_past_rejected(org_with_actor_lookup):
    org = org_with_actor_lookup
    past_day = org.base - timedelta(days=30)
    payload = {
        "event_id": str(uuid.uuid4()), "event_type": "closing_day_added", "schema_version": 1,
        "occurred_at": datetime.now(timezone.utc).isoformat(), "actor_account_number": "900002",
        "location_id": org.location_id, "day": past_day.isoformat(),
    }
    with StaffPublisher(org.config["AMQP_URI"]) as publisher:
        assert publisher.publish(payload, staff_contract("closing_day_added").routing_key).accepted

    assert wait_for(lambda: dead_letters(org))
    assert closing_days_on(org, past_day) == []


# Closing days from the RPC and freed places.


def test_closing_day_rpc_cancels_swap_and_refunds_credit(org):
    org.call("set_rules", {"credit_enabled": True}, as_="900003")
    child = org.children["c1"]
    org.call("report_absence", child, "holiday", org.day(0, 1).isoformat(), as_="100001")
    extra = org.call("request_extra_day", child, org.day(1, 3).isoformat(), "whole_day", spend_credit=True,
                     as_="100001")
    swap = org.call("request_swap_day", child, org.day(1, 1).isoformat(), org.day(1, 4).isoformat(), as_="100001")
    assert Decimal(org.call("child_credit", child, as_="100001")["balance_hours"]) == 0

    org.call("add_closing_day", org.location_id, org.day(1, 3).isoformat(), as_="900002")
    org.call("add_closing_day", org.location_id, org.day(1, 4).isoformat(), group_id=org.groups["baby"],
             as_="900002")

    assert request_of(org, "c1", extra["id"])["state"] == "cancelled"
    assert request_of(org, "c1", swap["id"])["reason_code"] == "closed_day"
    assert Decimal(org.call("child_credit", child, as_="100001")["balance_hours"]) == 10


def test_closing_day_of_other_group_keeps_request(org):
    extra = org.call("request_extra_day", org.children["c1"], org.day(1, 3).isoformat(), "whole_day", as_="100001")
    org.call("add_closing_day", org.location_id, org.day(1, 3).isoformat(), group_id=org.groups["mixed"],
             as_="900002")
    assert request_of(org, "c1", extra["id"])["state"] == "approved"


def test_cancellation_gives_place_to_waitlist(org):
    wednesday = org.day(1, 3).isoformat()
    first = org.call("request_extra_day", org.children["c1"], wednesday, "whole_day", as_="100001")
    waiting = org.call("request_extra_day", org.children["c4"], wednesday, "whole_day", waitlist=True, as_="100002")
    assert first["state"] == "approved"
    assert waiting["state"] == "waitlisted"

    org.call("cancel_request", first["id"], as_="100001")

    offered = request_of(org, "c4", waiting["id"], guardian="100002")
    assert offered["state"] == "approved"
    assert offered["place_freed_at"] is None


def test_freed_place_flagged_without_auto_approval(org):
    wednesday = org.day(1, 3).isoformat()
    first = org.call("request_extra_day", org.children["c1"], wednesday, "whole_day", as_="100001")
    waiting = org.call("request_extra_day", org.children["c4"], wednesday, "whole_day", waitlist=True, as_="100002")
    org.call("set_rules", {"auto_approve_when_room": False}, as_="900003")

    org.call("cancel_request", first["id"], as_="100001")

    offered = request_of(org, "c4", waiting["id"], guardian="100002")
    assert offered["state"] == "waitlisted"
    assert offered["place_freed_at"] is not None
    pending = org.call("pending_requests", group_id=org.groups["baby"], as_="900001")
    assert [p["place_freed_at"] is not None for p in pending if p["id"] == waiting["id"]] == [True]
    approved = org.call("decide_request", waiting["id"], "approve", as_="900001")
    assert approved["state"] == "approved"


# Accounts events: attendance, care ended, placement changes.


def attendance_of(org, day, child_ref):
    view = org.call("group_attendance", org.groups["baby"], day.isoformat(), as_="900001")
    return next((c for c in view["children"] if c["child_id"] == org.children[child_ref]), None)


def test_kiosk_check_in_reaches_attendance_list(org):
    today = datetime.now(AMSTERDAM).date()
    arrived = datetime.combine(today, clock_time(8, 15), tzinfo=AMSTERDAM)
    payload = {
        "event_id": str(uuid.uuid4()), "event_type": "child_checked_in", "schema_version": 1,
        "occurred_at": arrived.isoformat(), "actor_account_number": "900001",
        "child_id": org.children["c2"], "group_id": org.groups["baby"], "at": arrived.isoformat(),
    }
    with StaffPublisher(org.config["AMQP_URI"]) as publisher:
        assert publisher.publish(payload, staff_contract("child_checked_in").routing_key).accepted

    entry = wait_for(lambda: (attendance_of(org, today, "c2") or {}).get("checked_in_at"))
    assert datetime.fromisoformat(entry) == arrived


def test_attendance_out_of_order_ends_latest(org):
    monday = org.day(1, 1)
    arrived = datetime.combine(monday, clock_time(8, 0), tzinfo=AMSTERDAM)
    left = datetime.combine(monday, clock_time(17, 30), tzinfo=AMSTERDAM)
    facts = {"child_id": org.children["c1"], "group_id": org.groups["baby"], "recorded_by": org.accounts["900001"]}
    check_out = dispatch(org, "child_checked_out", occurred_at=left, attendance_id=str(uuid.uuid4()),
                         at=left.isoformat(), collected_by="Oma Jansen", **facts)
    dispatch(org, "child_checked_in", occurred_at=arrived, attendance_id=str(uuid.uuid4()), at=arrived.isoformat(),
             **facts)
    dispatch(org, "child_checked_out", occurred_at=left, event_id=check_out["event_id"],
             attendance_id=check_out["attendance_id"], at=left.isoformat(), collected_by="Oma Jansen", **facts)

    def complete():
        entry = attendance_of(org, monday, "c1") or {}
        return entry if entry.get("checked_in_at") and entry.get("checked_out_at") else None

    entry = wait_for(complete)
    assert entry, "check-in and check-out did not both reach the attendance list"
    assert datetime.fromisoformat(entry["checked_in_at"]) == arrived
    assert datetime.fromisoformat(entry["checked_out_at"]) == left
    assert entry["collected_by"] == "Oma Jansen"
    assert [s["status"] for s in entry["slots"]] == ["planned"]


def test_care_ended_and_late_placement_change(org, clean_db):
    child = org.children["c2"]
    end = org.day(1, 5)
    ended_at = datetime.now(timezone.utc)
    placement = placements_of(clean_db, child)[0]
    facts = {
        "id": str(placement.id), "child_id": child, "group_id": str(placement.group_id),
        "care_type": placement.care_type, "weekdays": list(placement.weekdays),
        "dayparts": list(placement.dayparts), "start_date": placement.start_date.isoformat(), "end_date": None,
    }

    dispatch(org, "care_ended", occurred_at=ended_at, child_id=child, organisation_id=org.organisation_id,
             end_date=end.isoformat())
    assert wait_for(lambda: placements_of(clean_db, child)[0].end_date == end)

    older = dispatch(org, "placement_changed", occurred_at=ended_at - timedelta(hours=1), placement=facts,
                     organisation_id=org.organisation_id)
    time.sleep(1.5)
    assert placements_of(clean_db, child)[0].end_date == end
    assert older["placement"]["end_date"] is None

    dispatch(org, "placement_changed", occurred_at=ended_at + timedelta(hours=1),
             placement={**facts, "weekdays": [1, 2, 3]}, organisation_id=org.organisation_id)
    reopened = wait_for(lambda: placements_of(clean_db, child)[0].weekdays == [1, 2, 3])
    assert reopened
    assert placements_of(clean_db, child)[0].end_date is None
