"""Request rules, capacity and workflow against real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import eventlet
import pytest
from icalendar import Calendar
from sqlalchemy import create_engine, text

from samen_common.errors import Conflict, InvalidInput, NotFound, Unprocessable


def rejected(org, method, *args, as_="100001", **kwargs) -> str:
    with pytest.raises(Unprocessable) as info:
        org.call(method, *args, as_=as_, **kwargs)
    return info.value.code


def test_illness_duplicate_and_recovery(org):
    child = org.children["c1"]
    monday = org.day(0, 1)

    report = org.call("report_illness", child, start_date=monday.isoformat(), as_="100001")
    assert report["state"] == "approved"
    assert report["kind"] == "illness"
    assert rejected(org, "report_illness", child, start_date=monday.isoformat()) == "duplicate_request"

    ended = org.call("report_recovered", child, back_on=(monday + timedelta(days=1)).isoformat(), as_="100001")
    assert ended["end_date"] == monday.isoformat()
    schedule = org.call("child_schedule", child, monday.strftime("%Y-%m"), as_="100001")
    statuses = {d["date"]: [s["status"] for s in d["slots"]] for d in schedule["days"]}
    assert statuses[monday.isoformat()] == ["ill"]
    assert statuses[(monday + timedelta(days=1)).isoformat()] == ["planned"]


def test_absence_rejections(org):
    child = org.children["c1"]
    wednesday = org.day(0, 3)
    assert rejected(org, "report_absence", child, "holiday", wednesday.isoformat()) == "not_planned"
    past_monday = org.base - timedelta(weeks=4)
    assert rejected(org, "report_absence", child, "holiday", past_monday.isoformat()) == "past_date"
    ended_child = org.children["ended"]
    assert rejected(org, "report_absence", ended_child, "holiday", org.day(0, 1).isoformat()) == "care_ended"

    org.call("add_closing_day", org.location_id, org.day(1, 1).isoformat(), kind="planned",
             name_nl="Studiedag", name_en="Training day", as_="900002")
    assert rejected(org, "report_absence", child, "holiday", org.day(1, 1).isoformat()) == "closed_day"

    org.call("set_rules", {"notice_days": 60}, as_="900003")
    assert rejected(org, "report_absence", child, "holiday", org.day(0, 1).isoformat()) == "after_deadline"


def test_rejection_message_in_both_languages(org):
    with pytest.raises(Unprocessable) as info:
        org.call("report_absence", org.children["c1"], "holiday", org.day(0, 3).isoformat(), as_="100001")
    assert "geen opvang" in info.value.messages["nl"]
    assert "no care" in info.value.messages["en"]


def test_national_holiday_rejects_extra_day(org):
    christmas = date(org.base.year, 12, 25)
    if christmas < org.base:
        christmas = date(org.base.year + 1, 12, 25)
    code = rejected(org, "request_extra_day", org.children["c1"], christmas.isoformat(), "whole_day")
    assert code == "national_holiday"


def test_other_family_child_is_not_found(org):
    with pytest.raises(NotFound):
        org.call("report_illness", org.children["c4"], start_date=org.day(0, 1).isoformat(), as_="100001")
    with pytest.raises(NotFound):
        org.call("child_schedule", str(uuid.uuid4()), "2027-01", as_="100001")


def test_naive_timestamp_is_rejected(org):
    with pytest.raises(InvalidInput) as info:
        org.call("report_absence", org.children["c1"], "holiday", "2027-03-29T10:00:00", as_="100001")
    assert info.value.code == "naive_timestamp"


def test_full_group_rejects_then_waitlists(org):
    wednesday = org.day(0, 3)
    first = org.call("request_extra_day", org.children["c1"], wednesday.isoformat(), "whole_day", as_="100001")
    assert first["state"] == "approved"

    code = rejected(org, "request_extra_day", org.children["c4"], wednesday.isoformat(), "whole_day", as_="100002")
    assert code == "group_full"

    alternative = org.day(0, 4).isoformat()
    waiting = org.call("request_extra_day", org.children["c4"], wednesday.isoformat(), "whole_day", waitlist=True,
                       alternatives=[alternative], as_="100002")
    assert waiting["state"] == "waitlisted"
    assert waiting["reason_code"] == "group_full"

    pending = org.call("pending_requests", as_="900001")
    assert [p["id"] for p in pending] == [waiting["id"]]
    assert rejected(org, "decide_request", waiting["id"], "approve", as_="900001") == "group_full"
    approved = org.call("decide_request", waiting["id"], "approve", day=alternative, as_="900001")
    assert approved["state"] == "approved"
    assert approved["start_date"] == alternative


def test_parallel_requests_for_last_place(org):
    wednesday = org.day(0, 3).isoformat()
    results = []

    def attempt(child, guardian):
        try:
            results.append(org.call("request_extra_day", org.children[child], wednesday, "whole_day", as_=guardian))
        except Unprocessable as exc:
            results.append(exc.code)

    pool = eventlet.GreenPool()
    pool.spawn(attempt, "c1", "100001")
    pool.spawn(attempt, "c4", "100002")
    pool.waitall()
    winners = [r for r in results if isinstance(r, dict)]
    assert len(winners) == 1
    assert [r for r in results if not isinstance(r, dict)] == ["group_full"]
    capacity = org.call("group_capacity", org.groups["baby"], org.day(0, 1).isoformat(), 1, as_="900001")
    row = [d for d in capacity["days"] if d["date"] == wednesday and d["daypart"] == "morning"][0]
    assert row["present"] == 3
    assert row["free"] == 0


def test_ratio_decides_mixed_age_group(org):
    thursday = org.day(0, 4)
    org.call("set_roster", [{"group_id": org.groups["mixed"], "day": thursday.isoformat(), "staff_count": 1}])
    # Two babies and three two-year-olds: the 0-2 row allows 5 children per staff member,
    # so a sixth child needs a second one although two-year-olds alone allow 8.
    code = rejected(org, "request_extra_day", org.children["newbie"], thursday.isoformat(), "whole_day")
    assert code == "ratio_exceeded"

    org.call("set_roster", [{"group_id": org.groups["mixed"], "day": thursday.isoformat(), "staff_count": 2}])
    approved = org.call("request_extra_day", org.children["newbie"], thursday.isoformat(), "whole_day", as_="100001")
    assert approved["state"] == "approved"


def test_credit_earned_spent_and_expired(org, clean_db):
    org.call("set_rules", {"credit_enabled": True, "credit_hours_per_daypart": "5"}, as_="900003")
    child = org.children["c1"]
    absence = org.call("report_absence", child, "holiday", org.day(0, 1).isoformat(),
                       end_date=org.day(0, 2).isoformat(), as_="100001")
    assert absence["earned_credit_hours"] == "20"
    assert org.call("child_credit", child, as_="100001")["balance_hours"] == "20.00"

    org.call("request_extra_day", child, org.day(1, 3).isoformat(), "whole_day", spend_credit=True, as_="100001")
    assert org.call("child_credit", child, as_="100001")["balance_hours"] == "10.00"
    org.call("request_extra_day", child, org.day(2, 3).isoformat(), "whole_day", spend_credit=True, as_="100001")
    assert org.call("child_credit", child, as_="100001")["balance_hours"] == "0.00"
    code = rejected(org, "request_extra_day", child, org.day(3, 3).isoformat(), "whole_day", spend_credit=True)
    assert code == "insufficient_credit"

    old = date.today() - timedelta(days=430)
    engine = create_engine(clean_db["requests"])
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO credit_movements (id, child_id, kind, hours, \"on\", reason, expires_on) "
                 "VALUES ('old-lot', :child, 'earned', 7, :on, 'old absence', :expires)"),
            {"child": child, "on": old, "expires": old + timedelta(days=365)},
        )
    engine.dispose()
    ledger = org.call("child_credit", child, as_="100001")
    assert ledger["balance_hours"] == "0.00"
    expired = [m for m in ledger["movements"] if m["kind"] == "expired"]
    assert [(m["lot_id"], m["hours"]) for m in expired] == [("old-lot", "7.00")]


def test_swap_across_month_boundary(org):
    child = org.children["c1"]
    first_of_next = date(org.base.year + (org.base.month == 12), org.base.month % 12 + 1, 1)
    given_up = first_of_next - timedelta(days=1)
    while given_up.isoweekday() not in (1, 2):
        given_up -= timedelta(days=1)
    new_day = first_of_next
    while new_day.isoweekday() in (1, 2, 6, 7) or new_day in (date(new_day.year, 1, 1),):
        new_day += timedelta(days=1)

    swap = org.call("request_swap_day", child, given_up.isoformat(), new_day.isoformat(), as_="100001")
    assert swap["state"] == "approved"
    before = org.call("child_schedule", child, given_up.strftime("%Y-%m"), as_="100001")
    after = org.call("child_schedule", child, new_day.strftime("%Y-%m"), as_="100001")
    status_before = {d["date"]: [s["status"] for s in d["slots"]] for d in before["days"]}
    status_after = {d["date"]: [s["status"] for s in d["slots"]] for d in after["days"]}
    assert status_before[given_up.isoformat()] == ["swapped_out"]
    assert status_after[new_day.isoformat()] == ["swapped_in"]


def test_schedule_of_dst_month(org):
    schedule = org.call("child_schedule", org.children["c1"], "2027-03", as_="100001")
    days = {d["date"]: d for d in schedule["days"]}
    assert len(days) == 31
    # Summer time starts on Sunday 28 March 2027, which is also Easter Sunday.
    assert days["2027-03-28"]["slots"] == []
    assert days["2027-03-29"]["slots"][0]["status"] == "closed"
    assert days["2027-03-29"]["closed"]["name_en"] == "Easter Monday"
    assert days["2027-03-30"]["slots"][0]["status"] == "planned"


def test_calendar_feed_and_reset(org):
    child = org.children["c1"]
    first = org.call("reset_calendar_feed", child, as_="100001")
    feed = Calendar.from_ical(org.call("calendar_feed", first["token"]))
    events = feed.walk("VEVENT")
    assert events
    assert all(event.decoded("dtstart").isoweekday() in (1, 2) for event in events
               if str(event["uid"]).startswith("care-"))

    second = org.call("reset_calendar_feed", child, as_="100001")
    with pytest.raises(NotFound):
        org.call("calendar_feed", first["token"])
    assert Calendar.from_ical(org.call("calendar_feed", second["token"])).walk("VEVENT")


def test_idempotency_key_replay_and_conflict(org):
    child = org.children["c1"]
    key = "key-" + uuid.uuid4().hex
    first = org.call("report_illness", child, start_date=org.day(0, 1).isoformat(), idempotency_key=key, as_="100001")
    again = org.call("report_illness", child, start_date=org.day(0, 1).isoformat(), idempotency_key=key, as_="100001")
    assert again == first
    with pytest.raises(Conflict) as info:
        org.call("report_illness", child, start_date=org.day(0, 2).isoformat(), idempotency_key=key, as_="100001")
    assert info.value.code == "idempotency_key_reused"


def test_cancel_before_deadline(org):
    child = org.children["c1"]
    extra = org.call("request_extra_day", child, org.day(0, 3).isoformat(), "whole_day", as_="100001")
    cancelled = org.call("cancel_request", extra["id"], as_="100001")
    assert cancelled["state"] == "cancelled"
    assert rejected(org, "cancel_request", extra["id"]) == "not_cancellable"
