"""A rejected event lands in samen.dead-letters, can be listed, and replays to its consumers."""

import uuid

import pytest
from kombu import Connection, Queue
from nameko.standalone.events import get_event_exchange

from samen_devtools import dlq
from tests.faults.traffic import ACCOUNTS_DB, NOTIFY_DB, wait_until

pytestmark = pytest.mark.faults


def test_rejected_event_is_listed_and_replayed(platform_ready, fault_rabbit, fault_postgres):
    amqp_uri = f"{fault_rabbit.amqp_base}/{platform_ready.vhost}"
    account_id = fault_postgres.query(
        "SELECT id::text FROM accounts WHERE account_number = '100003'", dbname=ACCOUNTS_DB
    )[0][0]
    event_id = str(uuid.uuid4())
    payload = {"account_id": account_id, "event_id": event_id, "event_type": "password_changed",
               "occurred_at": "2026-12-04T10:00:00+00:00", "schema_version": 1}
    exchange = get_event_exchange("accounts", {})
    probe = Queue("evt-accounts-password_changed--faults.probe", exchange=exchange,
                  routing_key="password_changed", durable=True)

    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        probe(connection.default_channel).declare()
        connection.Producer(serializer="json").publish(
            payload, exchange=exchange, routing_key="password_changed", delivery_mode=2)
        message = wait_until(lambda: probe(connection.default_channel).get(no_ack=False), 10, interval=0.2,
                             message="event in the probe queue")
        message.reject(requeue=False)

    listed = wait_until(lambda: dlq.list_messages(fault_rabbit.api, platform_ready.vhost, 10), 10,
                        message="dead letter listed")
    assert [m["queue"] for m in listed] == ["evt-accounts-password_changed--faults.probe"]
    assert listed[0]["reason"] == "rejected"
    assert listed[0]["routing_key"] == "password_changed"

    assert dlq.replay(amqp_uri, 10) == 1
    assert dlq.list_messages(fault_rabbit.api, platform_ready.vhost, 10) == []

    # notify got the event twice (first publish and replay) and handled it once.
    def handled():
        return fault_postgres.query("SELECT count(*) FROM handled_events WHERE event_id = %s", (event_id,),
                                    dbname=NOTIFY_DB)[0][0]

    assert wait_until(handled, 20, message="notify handled the event") == 1
    with Connection(amqp_uri) as connection:
        replayed = wait_until(lambda: probe(connection.default_channel).get(no_ack=True), 10, interval=0.2,
                              message="replayed event in the probe queue")
        assert replayed.payload["event_id"] == event_id
        probe(connection.default_channel).delete()
