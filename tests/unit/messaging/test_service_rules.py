"""Rules of the messaging service that need no broker or database: hours, cursors, access, input."""

import uuid
from datetime import datetime, timezone

import pytest

from samen_common.auth import AccountKind, Caller
from samen_common.errors import Forbidden, InvalidInput, NotFound
from samen_messaging import access
from samen_messaging.hours import message_notice, next_opening
from samen_messaging.notebook import clean_entry
from samen_messaging.threads import clean_body
from samen_messaging.timeline import decode_cursor, encode_cursor

WEEKDAYS = {str(day): ["07:00", "18:30"] for day in range(1, 6)}


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Wednesday 10:00 local time: open.
        (datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc), None),
        # Wednesday 19:00 local: the next opening is Thursday 07:00 local.
        (datetime(2026, 12, 2, 18, 0, tzinfo=timezone.utc), "2026-12-03T07:00:00+01:00"),
        # Friday 18:30 local exactly: closed, next is Monday.
        (datetime(2026, 12, 4, 17, 30, tzinfo=timezone.utc), "2026-12-07T07:00:00+01:00"),
        # Saturday: Monday 07:00.
        (datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc), "2026-12-07T07:00:00+01:00"),
        # Wednesday 06:00 local: later the same day.
        (datetime(2026, 12, 2, 5, 0, tzinfo=timezone.utc), "2026-12-02T07:00:00+01:00"),
        # Sunday before the change to summer time: Monday 07:00 is +02:00.
        (datetime(2026, 3, 29, 12, 0, tzinfo=timezone.utc), "2026-03-30T07:00:00+02:00"),
    ],
)
def test_next_opening(now, expected):
    opening = next_opening(WEEKDAYS, now)
    assert (opening.isoformat() if opening else None) == expected


def test_notice_without_hours_is_plain():
    assert next_opening({}, datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)) is None
    assert "gesloten" not in message_notice({}, datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc), "nl")


def test_notice_names_next_opening_in_language():
    saturday = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
    assert "maandag 7 december om 07:00" in message_notice(WEEKDAYS, saturday, "nl")
    assert "Monday 7 December at 07:00" in message_notice(WEEKDAYS, saturday, "en")
    assert "phone" in message_notice(WEEKDAYS, saturday, "en")


def test_cursor_round_trip():
    moment = datetime(2026, 12, 4, 10, 0, 0, 123456, tzinfo=timezone.utc)
    ref = uuid.uuid4()
    assert decode_cursor(encode_cursor(moment, ref)) == (moment, ref)


@pytest.mark.parametrize("cursor", ["", "%%%", "bm90IGpzb24", "WyIyMDI2LTEyLTA0VDEwOjAwOjAwIiwgIngiXQ"])
def test_cursor_rejects_garbage(cursor):
    with pytest.raises(InvalidInput) as error:
        decode_cursor(cursor)
    assert error.value.code == "invalid_cursor"


def test_message_body_limits():
    assert clean_body("  hallo  ") == "hallo"
    with pytest.raises(InvalidInput) as empty:
        clean_body(" \n ")
    assert empty.value.code == "message_empty"
    with pytest.raises(InvalidInput) as long:
        clean_body("x" * 2001)
    assert long.value.params["limit"] == 2000


def test_entry_needs_content_and_known_items():
    assert clean_entry("", {"mood": " happy "}, 0) == ("", {"mood": "happy"})
    assert clean_entry("", {}, 1) == ("", {})
    with pytest.raises(InvalidInput):
        clean_entry(" ", {"mood": ""}, 0)
    with pytest.raises(InvalidInput) as unknown:
        clean_entry("x", {"weather": "sunny"}, 0)
    assert unknown.value.params["item"] == "weather"


def _staff(roles, **scope):
    caller = Caller(account_id=str(uuid.uuid4()), kind=AccountKind.STAFF, organisation_id="org",
                    roles=frozenset(roles))
    return caller, {"kind": "staff", "group_ids": [], "managed_location_ids": [], "organisation_wide": False, **scope}


def test_news_audience_rules():
    caller, scope = _staff(["pedagogical"], group_ids=["g1"])
    access.require_news_audience(caller, scope, [], ["g1"])
    with pytest.raises(NotFound):
        access.require_news_audience(caller, scope, [], ["g2"])
    with pytest.raises(Forbidden):
        access.require_news_audience(caller, scope, ["l1"], [])
    with pytest.raises(Forbidden):
        access.require_news_audience(caller, scope, [], [])

    caller, scope = _staff(["coordinator"], managed_location_ids=["l1"])
    access.require_news_audience(caller, scope, ["l1"], [])
    with pytest.raises(NotFound):
        access.require_news_audience(caller, scope, ["l2"], [])
    with pytest.raises(Forbidden):
        access.require_news_audience(caller, scope, [], [])

    caller, scope = _staff(["admin"], organisation_wide=True)
    access.require_news_audience(caller, scope, [], [])


def test_guardian_child_lookup():
    scope = {"kind": "guardian", "children": [{"id": "c1"}]}
    assert access.guardian_child(scope, "c1") == {"id": "c1"}
    with pytest.raises(NotFound):
        access.guardian_child(scope, "c2")
