"""Planning and kiosk events through the real broker into the accounts service."""

import time
import uuid
from datetime import datetime, timedelta, timezone
from datetime import time as dt_time
from zoneinfo import ZoneInfo

import amqp
import pytest
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from samen_accounts.models import Account, AttendanceEvent, Child, OutboxMessage, Placement
from samen_common.contracts import DEAD_LETTER_QUEUE, staff_contract
from samen_staff.publisher import StaffPublisher, connection_parameters

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

RABBIT_API = "http://127.0.0.1:15672"
GUEST = ("guest", "guest")
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def db(demo_loaded):
    engine = create_engine(demo_loaded["accounts"])
    yield lambda: Session(engine)
    engine.dispose()


@pytest.fixture
def send(service_config, accounts):
    def publish(event_type, occurred_at=T0, event_id=None, actor="900002", **body):
        contract = staff_contract(event_type)
        payload = {
            "event_id": event_id or str(uuid.uuid4()), "event_type": event_type, "schema_version": 1,
            "occurred_at": occurred_at.isoformat(), "actor_account_number": actor, **body,
        }
        with StaffPublisher(service_config["AMQP_URI"]) as publisher:
            outcome = publisher.publish(payload, contract.routing_key)
        assert outcome.accepted, outcome
        return payload

    return publish


def wait_for(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout} s")


def dead_letters(uri):
    connection = amqp.Connection(**connection_parameters(uri))
    connection.connect()
    try:
        channel = connection.channel()
        messages = []
        while (message := channel.basic_get(DEAD_LETTER_QUEUE, no_ack=True)) is not None:
            messages.append(message)
        return messages
    finally:
        connection.close()


def wait_for_dead_letter(uri, timeout=10.0):
    collected = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not collected:
        collected = dead_letters(uri)
        time.sleep(0.1)
    assert collected, "no message reached samen.dead-letters"
    return collected


def outbox_count(db, event_type):
    with db() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.event_type == event_type))


PLACEMENT = {"ref": "placement-new", "group": "grp-vlinders", "care_type": "daycare", "weekdays": [1, 3],
             "dayparts": ["whole_day"], "start": "2026-01-05"}


def enrol(send, **changes):
    body = {
        "child": {"ref": "child-new", "first_name": "Otto", "last_name": "Smit", "birth_date": "2025-02-01"},
        "guardians": [{"account_number": "100001", "name": "Anouk de Vries"},
                      {"account_number": "200001", "name": "Nieuwe Ouder", "email": "nieuw@example.org"}],
        "placement": PLACEMENT,
    }
    body.update(changes)
    return send("child_enrolled", **body)


def test_child_enrolled_reaches_guardian_scope(send, call, db):
    enrol(send)

    def scope():
        with db() as session:
            guardian = session.scalar(select(Account).where(Account.account_number == "100001"))
        children = call("scope_of", str(guardian.id))["children"]
        return [c for c in children if c["first_name"] == "Otto"]

    child = wait_for(scope)[0]
    assert child["group_name"] == "Vlinders"
    assert child["photo_consent"] is False
    with db() as session:
        assert session.scalar(select(Account).where(Account.account_number == "200001")).kind == "guardian"
    assert outbox_count(db, "placement_changed") == 1
    assert outbox_count(db, "guardian_added") == 2


def test_duplicate_event_applied_once(send, db):
    event_id = str(uuid.uuid4())
    enrol(send, event_id=event_id)
    enrol(send, event_id=event_id)
    wait_for(lambda: outbox_count(db, "placement_changed") >= 1)
    time.sleep(1.0)
    assert outbox_count(db, "placement_changed") == 1
    assert outbox_count(db, "guardian_added") == 2


def test_placement_changes_out_of_order_keep_newest(send, db):
    enrol(send)
    wait_for(lambda: outbox_count(db, "placement_changed") == 1)
    newer = {**PLACEMENT, "child": "child-new", "group": "grp-peuters", "weekdays": [2]}
    older = {**PLACEMENT, "child": "child-new", "group": "grp-rupsjes", "weekdays": [4]}
    send("placement_changed", occurred_at=T0 + timedelta(hours=2), placement=newer)
    wait_for(lambda: outbox_count(db, "placement_changed") == 2)
    send("placement_changed", occurred_at=T0 + timedelta(hours=1), placement=older)
    time.sleep(1.0)

    with db() as session:
        placement = session.scalar(select(Placement).where(Placement.external_ref == "placement-new"))
        assert placement.weekdays == [2]
    assert outbox_count(db, "placement_changed") == 2


def test_consent_refusal_by_any_guardian_wins(send, call, db):
    with db() as session:
        child = session.scalar(select(Child).where(Child.external_ref == "child-001"))
    child_id = str(child.id)
    assert call("children_consent", [child_id]) == {child_id: True}

    send("photo_consent_recorded", child="child-001", guardian_account_number="100001", granted=True)
    send("photo_consent_recorded", occurred_at=T0 + timedelta(minutes=5), child="child-001",
         guardian_account_number="100003", granted=False)
    wait_for(lambda: call("children_consent", [child_id]) == {child_id: False})
    assert outbox_count(db, "child_consent_changed") == 1

    send("photo_consent_recorded", occurred_at=T0 + timedelta(minutes=1), child="child-001",
         guardian_account_number="100003", granted=True)
    time.sleep(1.0)
    assert call("children_consent", [child_id]) == {child_id: False}


def test_guardian_removed_before_older_add(send, db):
    enrol(send)
    wait_for(lambda: outbox_count(db, "guardian_added") == 2)
    send("guardian_removed", occurred_at=T0 + timedelta(hours=2), child="child-new", guardian_account_number="200001")
    wait_for(lambda: outbox_count(db, "guardian_removed") == 1)
    send("guardian_added", occurred_at=T0 + timedelta(hours=1), child="child-new",
         guardian={"account_number": "200001", "name": "Nieuwe Ouder"})
    time.sleep(1.0)
    assert outbox_count(db, "guardian_added") == 2


def test_care_ended_ends_consent(send, call, db):
    with db() as session:
        child_id = str(session.scalar(select(Child).where(Child.external_ref == "child-001")).id)
    yesterday = (datetime.now(timezone.utc) - timedelta(days=2)).date().isoformat()
    send("care_ended", child="child-001", end_date=yesterday)
    wait_for(lambda: call("children_consent", [child_id]) == {child_id: False})
    assert outbox_count(db, "care_ended") == 1


def test_invalid_event_dead_lettered(send, service_config, db):
    contract = staff_contract("care_ended")
    payload = {"event_id": str(uuid.uuid4()), "event_type": "care_ended", "schema_version": 1,
               "occurred_at": "2026-12-01T09:00:00", "actor_account_number": "900002",
               "child": "child-001", "end_date": "2026-12-01"}
    with StaffPublisher(service_config["AMQP_URI"]) as publisher:
        assert publisher.publish(payload, contract.routing_key).accepted

    messages = wait_for_dead_letter(service_config["AMQP_URI"])
    assert messages[0].headers["x-death"][0]["queue"] == "accounts.staff-tools.care_ended"
    assert outbox_count(db, "care_ended") == 0


def test_actor_without_right_dead_lettered(send, service_config, db):
    send("care_ended", actor="900001", child="child-001", end_date="2026-12-01")
    wait_for_dead_letter(service_config["AMQP_URI"])
    with db() as session:
        assert session.scalar(select(Child).where(Child.external_ref == "child-001")).care_ended_on is None


def test_check_in_and_out_logged(send, call, db, make_token):
    with db() as session:
        child = session.scalar(select(Child).where(Child.external_ref == "child-001"))
        placement = session.scalar(select(Placement).where(Placement.child_id == child.id))
        staff = session.scalar(select(Account).where(Account.account_number == "900001"))
    # Yesterday 09:00 in Amsterdam: in the past, and check-out falls on the same local day
    # whatever the time of the run.
    yesterday = datetime.now(AMSTERDAM).date() - timedelta(days=1)
    arrived = datetime.combine(yesterday, dt_time(9, 0), tzinfo=AMSTERDAM)
    common = {"child_id": str(child.id), "group_id": str(placement.group_id), "actor": "900001"}
    send("child_checked_in", at=arrived.isoformat(), **common)
    send("child_checked_out", at=(arrived + timedelta(hours=1)).isoformat(), collected_by="Oma Ria", **common)
    wait_for(lambda: outbox_count(db, "child_checked_out") == 1)

    token = make_token(staff.id, kind="staff", roles=["pedagogical"], organisation_id=staff.organisation_id)
    day = yesterday.isoformat()
    log = call("attendance", str(placement.group_id), day, token=token)
    assert [event["kind"] for event in log["events"]] == ["checked_in", "checked_out"]
    assert log["children"][0]["collected_by"] == "Oma Ria"
    with db() as session:
        assert session.scalar(select(func.count()).select_from(AttendanceEvent)) == 2


def test_tool_user_without_permission_refused(service_config, accounts):
    vhost = service_config["vhost"]
    user = f"kiosk-{uuid.uuid4().hex[:8]}"
    api = f"{RABBIT_API}/api"
    requests.put(f"{api}/users/{user}", json={"password": "kiosk-secret", "tags": ""}, auth=GUEST, timeout=10).raise_for_status()
    try:
        requests.put(f"{api}/permissions/{requests.utils.quote(vhost, safe='')}/{user}",
                     json={"configure": "", "write": "^samen\\.staff-tools$", "read": ""}, auth=GUEST, timeout=10).raise_for_status()
        requests.put(f"{api}/topic-permissions/{requests.utils.quote(vhost, safe='')}/{user}",
                     json={"exchange": "samen.staff-tools", "write": "^kiosk\\.(child_checked_in|child_checked_out)$", "read": ""},
                     auth=GUEST, timeout=10).raise_for_status()
        uri = f"amqp://{user}:kiosk-secret@127.0.0.1:5672/{vhost}"
        payload = {"event_id": str(uuid.uuid4()), "event_type": "care_ended", "schema_version": 1,
                   "occurred_at": T0.isoformat(), "actor_account_number": "900002", "child": "child-001",
                   "end_date": "2026-12-01"}
        with StaffPublisher(uri) as publisher:
            outcome = publisher.publish(payload, "planning.care_ended")
        assert outcome.problem == "refused"
        assert not outcome.accepted
    finally:
        requests.delete(f"{api}/users/{user}", auth=GUEST, timeout=10)


def test_placement_locations_include_ended_care(send, call, db):
    with db() as session:
        child_id = session.scalar(select(Child.id).where(Child.external_ref == "child-001"))
        guardian_id = str(session.scalar(select(Account.id).where(Account.account_number == "100001")))
        staff_id = str(session.scalar(select(Account.id).where(Account.account_number == "900002")))
        location_id = str(session.execute(
            text("SELECT g.location_id FROM placements p JOIN groups g ON g.id = p.group_id WHERE p.child_id = :c"),
            {"c": child_id},
        ).scalar())
    today = datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    assert location_id in call("guardian_placement_locations", guardian_id, today.isoformat())

    ended = (today - timedelta(days=2)).isoformat()
    send("care_ended", child="child-001", end_date=ended)
    wait_for(lambda: outbox_count(db, "care_ended") == 1)
    assert location_id not in call("guardian_placement_locations", guardian_id, today.isoformat())
    assert location_id in call("guardian_placement_locations", guardian_id, ended)

    with pytest.raises(Exception, match="invalid_input"):
        call("guardian_placement_locations", guardian_id, "yesterday")
    with pytest.raises(Exception, match="not_found"):
        call("guardian_placement_locations", staff_id, ended)
