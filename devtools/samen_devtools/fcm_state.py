"""Thread-safe state of the FCM test server: access tokens, injected faults, received messages."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from samen_devtools.fcm_protocol import FCM_ERRORS

# Retry-After sent with an injected QUOTA_EXCEEDED when the test sets none,
# so every 429 from this server carries the header.
DEFAULT_QUOTA_RETRY_AFTER_SECONDS = 60


@dataclass(frozen=True)
class ReceivedMessage:
    """A message the server accepted, as the client sent it."""

    name: str
    message: dict[str, Any]
    received_at: float

    @property
    def device_token(self) -> str | None:
        return self.message.get("token")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "message": self.message, "received_at": self.received_at}


@dataclass(frozen=True)
class InjectedError:
    """An error the server returns in place of accepting a send."""

    error_code: str
    retry_after: int | None = None


@dataclass
class _FailureRule:
    error: InjectedError
    device_token: str | None
    # Sends still to fail; None fails every matching send until reset.
    remaining: int | None = field(default=None)

    def matches(self, device_token: str | None) -> bool:
        return self.device_token is None or self.device_token == device_token


class FcmState:
    """Tokens, faults and messages shared by the server's request threads."""

    def __init__(self, project_id: str, token_lifetime_seconds: int = 3600) -> None:
        self.project_id = project_id
        self._lock = threading.Lock()
        self._message_arrived = threading.Condition(self._lock)
        self._token_lifetime_seconds = token_lifetime_seconds
        self._clear()

    def _clear(self) -> None:
        self._access_tokens: dict[str, float] = {}
        self._unregistered: set[str] = set()
        self._sender_mismatch: set[str] = set()
        self._failure_rules: list[_FailureRule] = []
        self._outage_until = 0.0
        self._outage_retry_after: int | None = None
        self._messages: list[ReceivedMessage] = []
        self._token_fetches = 0
        self._send_requests = 0
        self._rejected_sends = 0

    # Access tokens

    def issue_access_token(self) -> tuple[str, int]:
        """Create an access token and return it with its lifetime in seconds."""
        token = "ya29.local-" + secrets.token_urlsafe(32)
        with self._lock:
            lifetime = self._token_lifetime_seconds
            self._access_tokens[token] = time.time() + lifetime
            self._token_fetches += 1
        return token, lifetime

    def access_token_problem(self, token: str | None) -> str | None:
        """Return the `ErrorInfo` reason why `token` is not accepted, or None when it is valid."""
        if not token:
            return "CREDENTIALS_MISSING"
        with self._lock:
            expires_at = self._access_tokens.get(token)
        if expires_at is None:
            return "ACCESS_TOKEN_TYPE_UNSUPPORTED"
        if expires_at <= time.time():
            return "ACCESS_TOKEN_EXPIRED"
        return None

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far expired."""
        with self._lock:
            now = time.time()
            for token in self._access_tokens:
                self._access_tokens[token] = now

    def set_token_lifetime(self, seconds: int) -> None:
        """Set the lifetime of access tokens issued from now on."""
        if seconds < 1:
            raise ValueError(f"token lifetime must be at least 1 second, got {seconds}")
        with self._lock:
            self._token_lifetime_seconds = seconds

    # Faults

    def mark_unregistered(self, device_token: str) -> None:
        """Reject every send to `device_token` with 404 UNREGISTERED."""
        with self._lock:
            self._unregistered.add(device_token)

    def mark_sender_mismatch(self, device_token: str) -> None:
        """Reject every send to `device_token` with 403 SENDER_ID_MISMATCH."""
        with self._lock:
            self._sender_mismatch.add(device_token)

    def fail_next(
        self,
        count: int,
        error_code: str = "UNAVAILABLE",
        retry_after: int | None = None,
        device_token: str | None = None,
    ) -> None:
        """Reject the next `count` sends (to `device_token` only, if given) with `error_code`."""
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        self._add_failure_rule(error_code, retry_after, device_token, remaining=count)

    def fail_token(self, device_token: str, error_code: str = "UNAVAILABLE", retry_after: int | None = None) -> None:
        """Reject every send to `device_token` with `error_code` until `reset`."""
        self._add_failure_rule(error_code, retry_after, device_token, remaining=None)

    def _add_failure_rule(
        self, error_code: str, retry_after: int | None, device_token: str | None, remaining: int | None
    ) -> None:
        if error_code not in FCM_ERRORS:
            raise ValueError(f"unknown FCM error code {error_code!r}; expected one of {sorted(FCM_ERRORS)}")
        if retry_after is None and error_code == "QUOTA_EXCEEDED":
            retry_after = DEFAULT_QUOTA_RETRY_AFTER_SECONDS
        rule = _FailureRule(InjectedError(error_code, retry_after), device_token, remaining)
        with self._lock:
            self._failure_rules.append(rule)

    def start_outage(self, seconds: float, retry_after: int | None = None) -> None:
        """Reject every token fetch and send with 503 UNAVAILABLE for `seconds`."""
        with self._lock:
            self._outage_until = time.monotonic() + seconds
            self._outage_retry_after = retry_after

    def outage_error(self) -> InjectedError | None:
        """Return the 503 error while an outage lasts, otherwise None."""
        with self._lock:
            if time.monotonic() < self._outage_until:
                return InjectedError("UNAVAILABLE", self._outage_retry_after)
        return None

    def reset(self) -> None:
        """Forget all tokens, faults, messages and counters."""
        with self._lock:
            self._clear()

    # Sends

    def take_send_error(self, device_token: str | None) -> InjectedError | None:
        """Return the error for a valid send to `device_token`, or None when the send is accepted."""
        with self._lock:
            if device_token in self._unregistered:
                return InjectedError("UNREGISTERED")
            if device_token in self._sender_mismatch:
                return InjectedError("SENDER_ID_MISMATCH")

            for rule in self._failure_rules:
                if not rule.matches(device_token):
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._failure_rules.remove(rule)
                return rule.error
        return None

    def count_send_request(self) -> None:
        with self._lock:
            self._send_requests += 1

    def count_rejected_send(self) -> None:
        with self._lock:
            self._rejected_sends += 1

    def record_message(self, message: dict[str, Any], validate_only: bool) -> str:
        """Store an accepted message and return its FCM name."""
        if validate_only:
            return f"projects/{self.project_id}/messages/fake_message_id"

        name = f"projects/{self.project_id}/messages/0:{time.time_ns()}%{secrets.token_hex(8)}"
        with self._message_arrived:
            self._messages.append(ReceivedMessage(name, message, time.time()))
            self._message_arrived.notify_all()
        return name

    def messages(self, device_token: str | None = None) -> list[ReceivedMessage]:
        """List accepted messages in arrival order, only those to `device_token` if given."""
        with self._lock:
            return self._select_messages(device_token)

    def _select_messages(self, device_token: str | None) -> list[ReceivedMessage]:
        if device_token is None:
            return list(self._messages)
        return [received for received in self._messages if received.device_token == device_token]

    def wait_for_messages(
        self, count: int, timeout: float = 5.0, device_token: str | None = None
    ) -> list[ReceivedMessage]:
        """Block until at least `count` messages arrived and return them.

        Raises TimeoutError with the number that did arrive after `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._message_arrived:
            while True:
                selected = self._select_messages(device_token)
                if len(selected) >= count:
                    return selected
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"expected {count} FCM messages within {timeout} s, got {len(selected)}")
                self._message_arrived.wait(remaining)

    @property
    def token_fetches(self) -> int:
        with self._lock:
            return self._token_fetches

    @property
    def send_requests(self) -> int:
        with self._lock:
            return self._send_requests

    def stats(self) -> dict[str, int]:
        """Return the counters: token fetches, send requests, rejected sends, accepted messages."""
        with self._lock:
            return {
                "token_fetches": self._token_fetches,
                "send_requests": self._send_requests,
                "rejected_sends": self._rejected_sends,
                "messages": len(self._messages),
            }
