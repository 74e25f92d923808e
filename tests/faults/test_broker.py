"""RabbitMQ restarted under traffic, and one event delivered twice."""

import time
import uuid

import pytest
from kombu import Connection
from nameko.standalone.events import get_event_exchange

from tests.faults.conftest import RPC_TIMEOUT
from tests.faults.traffic import (
    ACCOUNTS_DB,
    NOTIFY_DB,
    Traffic,
    check_accounts_records,
    check_events_delivered,
    check_outcomes,
    idle_in_transaction,
    wait_until,
)

pytestmark = pytest.mark.faults


def test_broker_restart_under_traffic(platform_ready, fault_rabbit, fault_postgres):
    traffic = Traffic(platform_ready.url).start()
    time.sleep(3)
    fault_rabbit.restart(down_seconds=3)
    restarted_at = time.monotonic()
    platform_ready.wait_ready(timeout=120)
    recovered_after = time.monotonic() - restarted_at
    time.sleep(3)
    outcomes = traffic.stop()

    check_outcomes(outcomes, RPC_TIMEOUT)
    assert any(o.status == 503 for o in outcomes), "the broker restart produced no 503 at all"
    # The gateway serves again without a restart by hand.
    assert recovered_after < 90
    assert platform_ready.login("100002")["access_token"]

    outbox = check_accounts_records(fault_postgres, outcomes)
    check_events_delivered(fault_postgres, outbox)
    assert not idle_in_transaction(fault_postgres)


def test_same_event_twice_has_one_effect(platform_ready, fault_rabbit, fault_postgres):
    account_id = fault_postgres.query(
        "SELECT id::text FROM accounts WHERE account_number = '100002'", dbname=ACCOUNTS_DB
    )[0][0]
    event_id = str(uuid.uuid4())
    payload = {
        "account_id": account_id,
        "event_id": event_id,
        "event_type": "password_changed",
        "occurred_at": "2026-12-04T10:00:00+00:00",
        "schema_version": 1,
    }
    before = len([m for m in platform_ready.mail() if "100002" in str(m["To"])])

    exchange = get_event_exchange("accounts", {})
    with Connection(f"{fault_rabbit.amqp_base}/{platform_ready.vhost}",
                    transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer(serializer="json")
        for _ in range(2):
            producer.publish(payload, exchange=exchange, routing_key="password_changed", delivery_mode=2,
                             declare=[exchange])

    def handled():
        rows = fault_postgres.query(
            "SELECT count(*) FROM handled_events WHERE event_id = %s", (event_id,), dbname=NOTIFY_DB
        )
        return rows[0][0]

    assert wait_until(handled, 30, message="notify handled the event") == 1
    time.sleep(3)
    assert handled() == 1
    mails = [m for m in platform_ready.mail() if "100002" in str(m["To"])]
    assert len(mails) - before == 1, [m["Subject"] for m in mails]
