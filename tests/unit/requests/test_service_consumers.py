"""Event and timer entrypoints of requests run with worker_factory on a real database.

accounts is nameko's mock proxy and the outbox a mock, so each test sets what accounts returns
and reads back what the handler staged.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from samen_common.errors import InvalidInput, NotFound
from samen_common.staff_consumer import EventRejected
from samen_requests.models import AttendanceRecord, ChildCopy, ClosingDayRow, CreditMovement, GroupCopy, PlacementCopy
from samen_requests.service import RequestsService

NOW = datetime.now(timezone.utc)
ORGANISATION = uuid.uuid4()
LOCATION = uuid.uuid4()
GROUP = uuid.uuid4()
ACTOR = uuid.uuid4()


@pytest.fixture
def session(clean_db):
    engine = create_engine(clean_db["requests"])
    with Session(engine, expire_on_commit=False) as db:
        db.add(GroupCopy(id=GROUP, organisation_id=ORGANISATION, location_id=LOCATION, name="Vlinders",
                         care_type="daycare", max_size=12))
        db.commit()
        yield db
    engine.dispose()


def make_worker(session, scope=None):
    worker = worker_factory(RequestsService, db=session)
    worker.clock.return_value = NOW
    worker.accounts.scope_of_account_number.return_value = scope or coordinator_scope()
    return worker


def coordinator_scope(organisation=ORGANISATION, roles=("coordinator",), locations=(LOCATION,)):
    return {"kind": "staff", "account_id": str(ACTOR), "organisation_id": str(organisation), "roles": list(roles),
            "group_ids": [str(GROUP)], "managed_location_ids": [str(loc) for loc in locations],
            "organisation_wide": False}


def closing_event(day=None, **overrides):
    event = {"event_id": uuid.uuid4(), "event_type": "closing_day_added", "schema_version": 1, "occurred_at": NOW,
             "actor_account_number": "900002", "location_id": LOCATION, "group_id": None,
             "day": day or date.today() + timedelta(days=30), "kind": "planned", "name_nl": "Studiedag",
             "name_en": "Training day"}
    event.update(overrides)
    return event


def closing_days(session):
    return session.scalar(select(func.count()).select_from(ClosingDayRow))


def staged(worker, event_type):
    return [call.args[2] for call in worker.outbox.add.call_args_list if call.args[1] == event_type]


def test_closing_day_event_stored_once(session):
    worker = make_worker(session)
    event = closing_event()

    worker.on_closing_day_added(event)
    worker.on_closing_day_added(event)

    assert closing_days(session) == 1
    stored = session.scalars(select(ClosingDayRow)).one()
    assert stored.created_by == ACTOR
    assert stored.name_en == "Training day"
    assert len(staged(worker, "closing_day_added")) == 1
    worker.accounts.scope_of_account_number.assert_called_once_with("900002")


def test_closing_day_unknown_actor_rejected(session):
    worker = make_worker(session)
    worker.accounts.scope_of_account_number.side_effect = NotFound()

    with pytest.raises(EventRejected) as error:
        worker.on_closing_day_added(closing_event())

    assert error.value.reason == "actor_unknown"
    assert closing_days(session) == 0


@pytest.mark.parametrize("scope", [
    coordinator_scope(roles=("pedagogical",)),
    coordinator_scope(locations=(uuid.uuid4(),)),
    {**coordinator_scope(organisation=uuid.uuid4()), "organisation_wide": True, "roles": ["admin"]},
], ids=["pedagogical", "other-location", "admin-of-other-organisation"])
def test_closing_day_actor_not_allowed(session, scope):
    worker = make_worker(session, scope)

    with pytest.raises(EventRejected) as error:
        worker.on_closing_day_added(closing_event())

    assert error.value.reason == "actor_not_allowed"
    assert closing_days(session) == 0
    worker.outbox.add.assert_not_called()


def test_closing_day_in_past_rejected(session):
    worker = make_worker(session)

    with pytest.raises(EventRejected) as error:
        worker.on_closing_day_added(closing_event(day=date.today() - timedelta(days=1)))

    assert error.value.reason == "closing_day_in_past"


def test_closing_day_twice_rejected_as_existing(session):
    worker = make_worker(session)
    day = date.today() + timedelta(days=20)
    worker.on_closing_day_added(closing_event(day=day))

    with pytest.raises(EventRejected) as error:
        worker.on_closing_day_added(closing_event(day=day))

    assert error.value.reason == "closing_day_exists"
    assert closing_days(session) == 1


def test_closing_day_unknown_group_rejected(session):
    worker = make_worker(session)

    with pytest.raises(EventRejected) as error:
        worker.on_closing_day_added(closing_event(group_id=uuid.uuid4()))

    assert error.value.reason == "unknown_location_or_group"


def attendance_payload(kind="child_checked_out", at="2027-01-11T17:05:00+01:00", **overrides):
    payload = {"event_id": str(uuid.uuid4()), "event_type": kind, "occurred_at": at, "schema_version": 1,
               "attendance_id": str(uuid.uuid4()), "child_id": str(uuid.uuid4()), "group_id": str(GROUP),
               "at": at, "recorded_by": str(ACTOR), "collected_by": "Opa Bakker"}
    payload.update(overrides)
    return payload


def test_attendance_duplicate_stored_once(session):
    worker = make_worker(session)
    payload = attendance_payload()

    worker.on_child_checked_out(payload)
    worker.on_child_checked_out(payload)
    worker.on_child_checked_out({**payload, "event_id": str(uuid.uuid4())})

    rows = session.scalars(select(AttendanceRecord)).all()
    assert len(rows) == 1
    assert rows[0].local_date == date(2027, 1, 11)
    assert rows[0].collected_by == "Opa Bakker"


def test_attendance_local_date_after_midnight_utc(session):
    worker = make_worker(session)
    worker.on_child_checked_in(attendance_payload("child_checked_in", at="2027-03-28T23:30:00+00:00"))

    row = session.scalars(select(AttendanceRecord)).one()
    assert row.local_date == date(2027, 3, 29)
    assert row.collected_by is None


def test_attendance_naive_time_rejected(session):
    worker = make_worker(session)

    with pytest.raises(InvalidInput) as error:
        worker.on_child_checked_in(attendance_payload("child_checked_in", at="2027-01-11T08:00:00"))

    assert error.value.code == "naive_timestamp"
    assert session.scalar(select(func.count()).select_from(AttendanceRecord)) == 0


def seed_child(session, child_id):
    session.add(ChildCopy(id=child_id, organisation_id=ORGANISATION, birth_date=date(2025, 1, 1)))
    session.add(PlacementCopy(id=uuid.uuid4(), child_id=child_id, group_id=GROUP, care_type="daycare",
                              weekdays=[1, 2], dayparts=["whole_day"], start_date=date(2026, 1, 5), end_date=None))
    session.commit()


def care_payload(child_id, end_date, occurred_at):
    return {"event_id": str(uuid.uuid4()), "event_type": "care_ended", "schema_version": 1,
            "occurred_at": occurred_at.isoformat(), "child_id": str(child_id),
            "organisation_id": str(ORGANISATION), "end_date": end_date.isoformat()}


def test_care_ended_older_event_ignored(session):
    child_id = uuid.uuid4()
    seed_child(session, child_id)
    worker = make_worker(session)

    worker.on_care_ended(care_payload(child_id, date(2027, 6, 30), NOW))
    worker.on_care_ended(care_payload(child_id, date(2027, 3, 31), NOW - timedelta(minutes=5)))

    placement = session.scalars(select(PlacementCopy).where(PlacementCopy.child_id == child_id)).one()
    session.refresh(placement)
    assert placement.end_date == date(2027, 6, 30)


def test_expire_credit_twice_adds_nothing(session):
    child_id = uuid.uuid4()
    seed_child(session, child_id)
    earned_on = date.today() - timedelta(days=800)
    session.add(CreditMovement(id=f"{child_id}:lot", child_id=child_id, kind="earned", hours=Decimal("5"),
                               on=earned_on, reason="absence announced in time",
                               expires_on=earned_on + timedelta(days=365)))
    session.commit()
    worker = make_worker(session)

    assert worker.expire_credit() == 1
    assert worker.expire_credit() == 1

    kinds = session.scalars(select(CreditMovement.kind).where(CreditMovement.child_id == child_id)).all()
    assert sorted(kinds) == ["earned", "expired"]
