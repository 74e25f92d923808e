"""Gateway traffic that runs while a fault is injected, and the checks of what it left behind.

Every request carries its own `X-Request-ID`, which accounts stores in `audit_log.request_id`
and `outbox.request_id`, so each HTTP outcome can be matched with the rows it produced.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from dataclasses import dataclass, field

import eventlet
import requests

from tests.e2e.platform import E2E_PREFIX

# Accounts of the demo organisation; the password changers and the loggers never overlap, so a
# logger always knows its password.
# Password hashing makes a login cost a few hundred milliseconds of CPU, so the load stays small:
# the aim is requests in flight when the fault hits, not throughput.
PASSWORD_CHANGERS = ("900001", "900002", "900003")
LOGGERS = ("100001", "100003")
ACCOUNTS_DB = f"{E2E_PREFIX}accounts"
NOTIFY_DB = f"{E2E_PREFIX}notify"
DEMO_PASSWORD = "Welkom-bij-Samen-2026"
# Statuses a request may end with while a fault is injected. 400 is a password change whose
# current password guess was wrong after an earlier change ended in 503 (see `_change_loop`).
ALLOWED_STATUSES = {200, 400, 503}
# The current password candidates of each password changer, newest first, kept across tests
# because the platform and its databases live for the whole session.
KNOWN_PASSWORDS: dict[str, list[str]] = {}


@dataclass
class Outcome:
    kind: str
    account: str
    request_id: str
    status: int
    seconds: float
    retry_after: str | None
    code: str | None = None


@dataclass
class Traffic:
    """Logins and password changes through the gateway from green threads, until `stop()`."""

    url: str
    client_timeout: float = 30.0
    outcomes: list[Outcome] = field(default_factory=list)
    passwords: dict[str, list[str]] = field(default_factory=lambda: KNOWN_PASSWORDS)

    def __post_init__(self):
        self._running = False
        self._threads = []

    def start(self) -> "Traffic":
        self._running = True
        for account in PASSWORD_CHANGERS:
            self.passwords.setdefault(account, [DEMO_PASSWORD])
            self._threads.append(eventlet.spawn(self._change_loop, account))
        for account in LOGGERS:
            self._threads.append(eventlet.spawn(self._login_loop, account))
        return self

    def stop(self) -> list[Outcome]:
        self._running = False
        for thread in self._threads:
            thread.wait()
        self._threads = []
        return self.outcomes

    def _send(self, kind: str, account: str, method: str, path: str, token: str | None = None, **kwargs):
        request_id = f"fault-{uuid.uuid4().hex}"
        headers = {"X-Request-ID": request_id}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        started = time.monotonic()
        try:
            response = requests.request(method, f"{self.url}{path}", headers=headers, timeout=self.client_timeout,
                                        **kwargs)
            status = response.status_code
            retry_after = response.headers.get("Retry-After")
            try:
                body = response.json()
            except ValueError:
                body = {}
        except requests.RequestException:
            # The gateway itself did not answer (it restarts too): recorded as status 0.
            status, retry_after, body = 0, None, {}
        code = (body.get("error") or {}).get("code") if isinstance(body, dict) else None
        self.outcomes.append(Outcome(kind, account, request_id, status, time.monotonic() - started, retry_after, code))
        return status, body

    def _login(self, kind: str, account: str, password: str):
        return self._send(kind, account, "POST", "/api/v1/auth/login",
                          json={"account_number": account, "password": password})

    def _login_loop(self, account: str) -> None:
        while self._running:
            status, _ = self._login("login", account, DEMO_PASSWORD)
            eventlet.sleep(0.5)

    def _change_loop(self, account: str) -> None:
        """Change the password again and again, keeping track of which password is current.

        After a 503 the change may or may not have committed, so both passwords stay candidates
        (newest first) until a login or a change with one of them succeeds.
        """
        token = None
        number = 0
        while self._running:
            candidates = self.passwords[account]
            if token is None:
                status, body = self._login("login", account, candidates[0])
                if status == 200:
                    token = body["access_token"]
                    self.passwords[account] = [candidates[0]]
                elif status == 401 and len(candidates) > 1:
                    candidates.pop(0)
                else:
                    eventlet.sleep(0.5)
                continue
            number += 1
            new_password = f"Storing-{number}-{uuid.uuid4().hex[:10]}"
            status, body = self._send(
                "password", account, "PUT", "/api/v1/me/password", token=token,
                json={"current_password": candidates[0], "new_password": new_password},
            )
            if status == 200:
                self.passwords[account] = [new_password]
            elif status == 400 and len(candidates) > 1:
                candidates.pop(0)
            elif status == 401:
                token = None
            elif status in (0, 503):
                self.passwords[account] = [new_password, *candidates]
            eventlet.sleep(0.5)


def wait_until(predicate, timeout: float, interval: float = 0.5, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not reached within {timeout} s (last value {value!r})")
        time.sleep(interval)


def check_outcomes(outcomes: list[Outcome], rpc_timeout: float, allow_unreachable: bool = False) -> None:
    """Assert that every request ended with an allowed status within the gateway's RPC timeout."""
    allowed = ALLOWED_STATUSES | ({0} if allow_unreachable else set())
    # A password changer's login may try a stale candidate after a 503 and get 401.
    unexpected = [
        o for o in outcomes
        if o.status not in allowed and not (o.status == 401 and o.account in PASSWORD_CHANGERS and o.kind == "login")
    ]
    assert not unexpected, f"unexpected statuses: {unexpected[:5]}"
    no_retry_after = [o for o in outcomes if o.status == 503 and not o.retry_after]
    assert not no_retry_after, f"503 without Retry-After: {no_retry_after[:5]}"
    # A login or password change makes at most two RPC round trips, and the gateway bounds each
    # by its RPC timeout; the margin covers hashing and the gateway's own work.
    limit = 2 * rpc_timeout + 3.0
    slow = [o for o in outcomes if o.status != 0 and o.seconds > limit]
    assert not slow, f"requests slower than {limit} s: {slow[:5]}"
    wrong_400 = [o for o in outcomes if o.status == 400 and o.code != "current_password_wrong"]
    assert not wrong_400, f"400 for another reason than a stale password guess: {wrong_400[:5]}"


def check_accounts_records(postgres, outcomes: list[Outcome], database: str = ACCOUNTS_DB) -> dict:
    """Assert that each confirmed change is stored once, and that no request id was applied twice.

    Returns the outbox rows of password changes by request id, for event checks.
    """
    audit = postgres.query(
        "SELECT request_id, action, count(*) FROM audit_log WHERE request_id LIKE 'fault-%%' "
        "GROUP BY request_id, action", dbname=database,
    )
    audit_counts = {(row[0], row[1]): row[2] for row in audit}
    outbox = postgres.query(
        "SELECT request_id, id::text, published_at IS NOT NULL FROM outbox "
        "WHERE request_id LIKE 'fault-%%' AND event_type = 'password_changed'", dbname=database,
    )
    outbox_by_request: dict[str, list] = {}
    for request_id, event_id, published in outbox:
        outbox_by_request.setdefault(request_id, []).append((event_id, published))

    doubled = {key: count for key, count in audit_counts.items() if count > 1}
    assert not doubled, f"requests applied more than once: {list(doubled.items())[:5]}"

    for outcome in outcomes:
        if outcome.status != 200:
            continue
        action = "login_succeeded" if outcome.kind == "login" else "password_changed"
        assert audit_counts.get((outcome.request_id, action)) == 1, f"confirmed {outcome} has no {action} audit row"
        if outcome.kind == "password":
            assert len(outbox_by_request.get(outcome.request_id, [])) == 1, f"confirmed {outcome} has no outbox event"

    # A password change writes its audit row and its event in one transaction: never one alone.
    changed = {request_id for (request_id, action) in audit_counts if action == "password_changed"}
    assert changed == set(outbox_by_request), (
        f"audit rows without event: {sorted(changed - set(outbox_by_request))[:5]}, "
        f"events without audit row: {sorted(set(outbox_by_request) - changed)[:5]}"
    )
    return outbox_by_request


def check_events_delivered(postgres, outbox_by_request: dict, timeout: float = 60.0) -> None:
    """Wait until every stored password_changed event is published and handled exactly once by notify."""
    event_ids = {event_id for rows in outbox_by_request.values() for event_id, _ in rows}
    if not event_ids:
        return

    def unpublished():
        rows = postgres.query("SELECT count(*) FROM outbox WHERE published_at IS NULL AND request_id LIKE 'fault-%%'",
                              dbname=ACCOUNTS_DB)
        return rows[0][0] == 0

    wait_until(unpublished, timeout, message="every outbox row published")

    def handled():
        rows = postgres.query(
            "SELECT event_id, count(*) FROM handled_events WHERE handler = 'notify.on_password_changed' "
            "GROUP BY event_id", dbname=NOTIFY_DB,
        )
        counts = {row[0]: row[1] for row in rows}
        return event_ids <= set(counts) and counts

    counts = wait_until(handled, timeout, message="notify handled every password_changed event")
    assert all(counts[event_id] == 1 for event_id in event_ids)


def idle_in_transaction(postgres, seconds: float = 2.0) -> list[tuple]:
    """Return sessions of the platform that sat idle inside a transaction for over `seconds`.

    A healthy worker is idle in a transaction only for the moment between two statements.
    """
    return postgres.query(
        "SELECT datname, application_name, state, now() - state_change FROM pg_stat_activity "
        "WHERE state LIKE 'idle in transaction%%' AND datname LIKE %s AND now() - state_change > %s",
        (f"{E2E_PREFIX}%", timedelta(seconds=seconds)),
    )
