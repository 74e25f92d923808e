"""A service killed with SIGKILL mid-request, and one stopped with SIGTERM as a deploy does."""

import os
import re
import signal
import time

import eventlet
import pytest

from tests.faults.conftest import RPC_TIMEOUT
from tests.faults.traffic import (
    Traffic,
    check_accounts_records,
    check_events_delivered,
    check_outcomes,
    idle_in_transaction,
    wait_until,
)

pytestmark = pytest.mark.faults


def test_sigkill_mid_request(platform_ready, fault_postgres):
    traffic = Traffic(platform_ready.url).start()
    time.sleep(3)
    killed = platform_ready.process_id("accounts.1")
    os.kill(killed, signal.SIGKILL)
    wait_until(lambda: platform_ready.process_id("accounts.1") != killed, 30, message="accounts restarted")
    platform_ready.wait_ready(timeout=60)
    time.sleep(3)
    outcomes = traffic.stop()

    check_outcomes(outcomes, RPC_TIMEOUT)
    outbox = check_accounts_records(fault_postgres, outcomes)
    check_events_delivered(fault_postgres, outbox)
    # The killed process's connections are closed by the server; none stays inside a transaction.
    # NOTE: this failed once when the whole fault suite ran after the PostgreSQL stall test, and
    # passed when this file ran alone; which session was idle in transaction is not known yet.
    assert not idle_in_transaction(fault_postgres)


def test_sigterm_finishes_in_flight_work(platform_ready, fault_postgres):
    stopped = platform_ready.process_id("accounts.1")
    # Logins in flight when the signal arrives: each hashes a password for a few hundred ms.
    results = []

    def login(account):
        response = None
        try:
            response = platform_ready.post(
                "/api/v1/auth/login", json={"account_number": account, "password": "Welkom-bij-Samen-2026"},
                timeout=30,
            )
        finally:
            results.append(response.status_code if response is not None else 0)

    threads = [eventlet.spawn(login, account) for account in ("100001", "100002", "100003", "900004", "900005")]
    time.sleep(0.3)
    signalled = time.monotonic()
    os.kill(stopped, signal.SIGTERM)

    pattern = rf"accounts\.1 \(pid {stopped}\) exited with (.+?) after"
    match = wait_until(lambda: re.search(pattern, platform_ready.logs()), 30, interval=0.1,
                       message="accounts exited after SIGTERM")
    exited_after = time.monotonic() - signalled
    for thread in threads:
        thread.wait()

    assert match.group(1) == "code 0"
    assert exited_after < 15
    # Every login either finished on the stopping process or ran on its replacement.
    assert sorted(results) == [200] * 5, results
    platform_ready.wait_ready(timeout=60)
    assert not idle_in_transaction(fault_postgres)
