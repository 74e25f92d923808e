"""The coordinator tool's news_published event through the real broker into messaging."""

import time
import uuid
from datetime import datetime, timezone

import amqp
import pytest

from samen_common.contracts import DEAD_LETTER_QUEUE, staff_contract
from samen_staff.publisher import StaffPublisher, connection_parameters

# Account numbers of the world in conftest.py: the position of the account, after "7000".
COORDINATOR_NORTH = "700007"
STAFF_BEARS = "700005"


@pytest.fixture
def send(service_config, services):
    def publish(actor, event_id=None, **body):
        contract = staff_contract("news_published")
        payload = {
            "event_id": event_id or str(uuid.uuid4()), "event_type": "news_published", "schema_version": 1,
            "occurred_at": datetime.now(timezone.utc).isoformat(), "actor_account_number": actor, **body,
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


def titles(call, who):
    return [item["title"] for item in call(who, "list_news")]


def test_coordinator_news_reaches_location(send, call, world):
    send(COORDINATOR_NORTH, title="Studiedag noord", body="De locatie is dicht.",
         location_ids=[world.locations["north"]])

    wait_for(lambda: "Studiedag noord" in titles(call, "parent_a"))
    assert "Studiedag noord" not in titles(call, "parent_d")
    item = call("parent_a", "list_news")[0]
    assert item["author_id"] == world.accounts["coordinator_north"]
    assert item["published_at"] is not None


def test_redelivered_news_event_creates_one_item(send, call, world):
    event_id = str(uuid.uuid4())
    for _ in range(2):
        send(COORDINATOR_NORTH, event_id=event_id, title="Eén keer", body="Tekst",
             group_ids=[world.groups["bears"]])
    send(COORDINATOR_NORTH, title="Daarna", body="Tekst", group_ids=[world.groups["bears"]])

    wait_for(lambda: "Daarna" in titles(call, "parent_a"))
    assert titles(call, "parent_a").count("Eén keer") == 1


@pytest.mark.parametrize("actor, audience", [
    (STAFF_BEARS, {}),                                    # pedagogical staff: not the whole organisation
    (COORDINATOR_NORTH, {"location_ids": ["south"]}),     # coordinator of another location
    ("999999", {}),                                       # no such account
])
def test_news_event_without_right_dead_lettered(send, call, world, service_config, actor, audience):
    body = {key: [world.locations[name] for name in names] for key, names in audience.items()}
    payload = send(actor, title="Mag niet", body="Tekst", **body)

    messages = wait_for(lambda: dead_letters(service_config["AMQP_URI"]))
    assert [m.properties.get("message_id") for m in messages] == [payload["event_id"]]
    assert "Mag niet" not in titles(call, "admin")
