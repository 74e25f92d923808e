"""PostgreSQL restarted and PostgreSQL frozen while the gateway serves traffic."""

import os
import signal
import time

import pytest

from tests.faults.conftest import RPC_TIMEOUT
from tests.faults.traffic import (
    Traffic,
    check_accounts_records,
    check_events_delivered,
    check_outcomes,
    idle_in_transaction,
)

pytestmark = pytest.mark.faults


def test_postgres_restart_under_traffic(platform_ready, fault_postgres):
    accounts_pid = platform_ready.process_id("accounts.1")
    traffic = Traffic(platform_ready.url).start()
    time.sleep(3)
    fault_postgres.restart(down_seconds=3)
    time.sleep(6)
    outcomes = traffic.stop()

    check_outcomes(outcomes, RPC_TIMEOUT)
    assert any(o.status == 503 for o in outcomes), "the restart produced no 503 at all"
    # The pools reconnected by themselves: the same accounts process serves again.
    assert platform_ready.login("100002")["access_token"]
    assert platform_ready.process_id("accounts.1") == accounts_pid

    outbox = check_accounts_records(fault_postgres, outcomes)
    check_events_delivered(fault_postgres, outbox)
    assert not idle_in_transaction(fault_postgres)


def test_postgres_stall_fails_fast(platform_ready, fault_postgres):
    traffic = Traffic(platform_ready.url).start()
    time.sleep(3)
    stopped = fault_postgres.signal_all(signal.SIGSTOP)
    try:
        time.sleep(RPC_TIMEOUT + 5)
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
    time.sleep(5)
    outcomes = traffic.stop()

    # Nothing waits for the frozen server longer than the gateway's timeout allows.
    check_outcomes(outcomes, RPC_TIMEOUT)
    assert any(o.status == 503 for o in outcomes), "the stall produced no 503 at all"
    platform_ready.wait_ready(timeout=60)
    assert platform_ready.login("100002")["access_token"]

    outbox = check_accounts_records(fault_postgres, outcomes)
    check_events_delivered(fault_postgres, outbox)
