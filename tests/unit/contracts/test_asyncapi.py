"""The committed AsyncAPI document matches the contracts, and every published event has one."""

import re

import pytest
from marshmallow import ValidationError

from samen_common.contracts import service_contract, staff_contract, staff_contracts
from samen_common.settings import project_root
from samen_devtools import asyncapi


def test_asyncapi_document_up_to_date():
    committed = asyncapi.OUTPUT.read_text(encoding="utf-8")
    assert committed == asyncapi.render(), "run: python -m samen_devtools.asyncapi"


def test_every_architecture_event_has_contract():
    text = (project_root() / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\w+) \| `(\w+)` \|", text, flags=re.MULTILINE)
    assert rows, "events table not found in docs/architecture.md"
    for source, event_type in rows:
        assert service_contract(source, event_type) is not None


def test_staff_contracts_route_by_tool():
    keys = {contract.routing_key for contract in staff_contracts()}
    assert "planning.child_enrolled" in keys
    assert "kiosk.child_checked_out" in keys
    assert "coordinator.closing_day_added" in keys


def _care_ended(**changes):
    payload = {
        "event_id": "6f1c1f51-3f7e-4d1e-8d0a-0c1b3f2a9e11", "event_type": "care_ended", "schema_version": 1,
        "occurred_at": "2026-12-04T10:00:00+01:00", "actor_account_number": "900002",
        "child": "child-007", "end_date": "2027-07-31",
    }
    payload.update(changes)
    return payload


def test_contract_accepts_valid_event():
    loaded = staff_contract("care_ended").load(_care_ended())
    assert loaded["end_date"].isoformat() == "2027-07-31"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"occurred_at": "2026-12-04T10:00:00"}, "occurred_at"),
        ({"schema_version": 2}, "schema_version"),
        ({"event_type": "child_enrolled"}, "event_type"),
        ({"end_date": "31-07-2027"}, "end_date"),
        ({"actor_account_number": ""}, "actor_account_number"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_contract_rejects_invalid_event(changes, field):
    with pytest.raises(ValidationError) as caught:
        staff_contract("care_ended").load(_care_ended(**changes))
    assert field in caught.value.messages
