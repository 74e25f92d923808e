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
    assert error.value.code == "invalid_period"
    with pytest.raises(InvalidInput):
        worker.notebook_keepsake(child_id, "10-12-2026", None)


def test_naive_written_at_rejected():
    worker = _worker(kind=AccountKind.STAFF)
    with pytest.raises(InvalidInput) as error:
        worker.add_notebook_entry(str(uuid.uuid4()), "text", {}, [], "2026-12-04T10:00:00")
    assert error.value.code == "naive_timestamp"
