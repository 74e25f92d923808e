"""Entrypoints run with nameko's worker_factory: input checks that act before any I/O."""

import uuid

import pytest
from nameko.testing.services import worker_factory

from samen_common.auth import AccountKind, Caller
from samen_common.errors import InvalidInput, NotFound
from samen_messaging.service import MessagingService


def _worker(kind=AccountKind.GUARDIAN, scope=None):
    worker = worker_factory(MessagingService)
    worker.caller.return_value = Caller(account_id=str(uuid.uuid4()), kind=kind, organisation_id=str(uuid.uuid4()))
    worker.accounts.access_scope.return_value = scope or {"kind": "guardian", "children": []}
    worker.context.language = "nl"
    return worker


def test_empty_message_rejected_before_any_call():
    worker = _worker()
    with pytest.raises(InvalidInput):
        worker.post_child_message(str(uuid.uuid4()), "   ")
    worker.accounts.access_scope.assert_not_called()
    worker.outbox.add.assert_not_called()


def test_message_about_foreign_child_is_not_found():
    worker = _worker(scope={"kind": "guardian", "children": [{"id": str(uuid.uuid4()), "group_id": "g"}]})
    with pytest.raises(NotFound):
        worker.post_child_message(str(uuid.uuid4()), "Hallo")
    worker.outbox.add.assert_not_called()


def test_timeline_is_for_guardians_only():
    worker = _worker(kind=AccountKind.STAFF)
    with pytest.raises(NotFound):
        worker.timeline()


def test_timeline_rejects_bad_cursor():
    worker = _worker()
    with pytest.raises(InvalidInput):
        worker.timeline(None, "not-a-cursor")


def test_keepsake_rejects_reversed_period():
    child_id = str(uuid.uuid4())
    worker = _worker(scope={"kind": "guardian", "children": [{"id": child_id, "group_id": "g"}]})
    with pytest.raises(InvalidInput) as error:
        worker.notebook_keepsake(child_id, "2026-12-10", "2026-12-01")
    assert error.value.code == "period_reversed"
    assert error.value.params["fields"] == {"to": ["period_reversed"]}
    with pytest.raises(InvalidInput):
        worker.notebook_keepsake(child_id, "10-12-2026", None)


def test_naive_written_at_rejected():
    worker = _worker(kind=AccountKind.STAFF)
    with pytest.raises(InvalidInput) as error:
        worker.add_notebook_entry(str(uuid.uuid4()), "text", {}, [], "2026-12-04T10:00:00")
    assert error.value.code == "naive_timestamp"


@pytest.mark.parametrize("date_from, date_to, field, code", [
    ("1900-01-01", "9999-12-31", "from", "date_out_of_range"),
    (None, "9999-12-31", "to", "date_out_of_range"),
    ("2020-01-01", "2026-01-01", "to", "period_too_long"),
    ("2026-13-01", None, "from", "invalid_date"),
])
def test_notebook_rejects_hostile_dates(date_from, date_to, field, code):
    child_id = str(uuid.uuid4())
    worker = _worker(scope={"kind": "guardian", "children": [{"id": child_id, "group_id": "g"}]})
    with pytest.raises(InvalidInput) as error:
        worker.notebook(child_id, date_from, date_to)
    assert error.value.code == code
    assert error.value.params["field"] == field
    assert error.value.params["fields"] == {field: [code]}


def test_keepsake_rejects_year_9999():
    child_id = str(uuid.uuid4())
    worker = _worker(scope={"kind": "guardian", "children": [{"id": child_id, "group_id": "g"}]})
    with pytest.raises(InvalidInput) as error:
        worker.notebook_keepsake(child_id, "9999-12-01", "9999-12-31")
    assert error.value.code == "date_out_of_range"


def test_group_day_rejects_far_date():
    worker = _worker(kind=AccountKind.STAFF)
    group_id = str(uuid.uuid4())
    worker.accounts.access_scope.return_value = {"kind": "staff", "group_ids": [group_id]}
    with pytest.raises(InvalidInput) as error:
        worker.group_day(group_id, "0001-01-01")
    assert error.value.params["field"] == "date"


@pytest.mark.parametrize("written_at", ["1970-01-01T08:00:00+01:00", "2999-01-01T08:00:00+01:00"])
def test_implausible_written_at_rejected(written_at):
    worker = _worker(kind=AccountKind.STAFF)
    with pytest.raises(InvalidInput) as error:
        worker.add_notebook_entry(str(uuid.uuid4()), "text", {}, [], written_at)
    assert error.value.code == "time_out_of_range"
    assert error.value.params["fields"] == {"written_at": ["time_out_of_range"]}


def test_written_at_two_days_ahead_rejected_one_hour_accepted():
    from datetime import datetime, timedelta, timezone

    from samen_messaging.notebook import parse_written_at

    now = datetime.now(timezone.utc)
    with pytest.raises(InvalidInput):
        parse_written_at((now + timedelta(days=2)).isoformat())
    assert parse_written_at((now + timedelta(hours=1)).isoformat()) > now


def test_news_publish_at_far_ahead_rejected():
    worker = _worker(kind=AccountKind.STAFF)
    worker.caller.return_value = Caller(account_id=str(uuid.uuid4()), kind=AccountKind.STAFF,
                                        organisation_id=str(uuid.uuid4()), roles=frozenset({"admin"}))
    worker.accounts.access_scope.return_value = {"kind": "staff", "organisation_wide": True, "group_ids": []}
    with pytest.raises(InvalidInput) as error:
        worker.create_news("Titel", "Tekst", "item", [], [], "9999-01-01T07:00:00+01:00")
    assert error.value.params["field"] == "publish_at"
