"""Push notifications through FCM's HTTP v1 API, with every outcome sorted for the caller.

`FcmPushSender.send` never raises for provider errors. It returns a
`PushResult` whose outcome is one of: sent, dead device token, retry later, or
rejected for good.
"""

from __future__ import annotations

import email.utils
import enum
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

import google.auth.exceptions
import requests
from pyfcm import FCMNotification
from pyfcm.errors import FCMServerError

from samen_notify.fcm_client import BoundFCMNotification, fcm_error_details

logger = logging.getLogger(__name__)

GOOGLE_FCM_BASE_URL = FCMNotification.FCM_END_POINT_BASE

# FCM rejects a message whose payload (data keys and values plus the
# notification texts) exceeds 4096 bytes.
MAX_MESSAGE_BYTES = 4096
ELLIPSIS = "…"

DEFAULT_BACKOFF_BASE_SECONDS = 2.0
DEFAULT_BACKOFF_CAP_SECONDS = 600.0
# Caps the exponent so a huge attempt number cannot overflow a float.
_MAX_BACKOFF_EXPONENT = 32


class PushOutcome(enum.StrEnum):
    """Outcome of a send, which decides what the caller does next."""

    SENT = "sent"
    """FCM accepted the message."""

    DEAD_TOKEN = "dead_token"
    """The device token is unregistered or belongs to another sender: delete it."""

    RETRY = "retry"
    """A transient failure (quota, FCM unavailable, network, credentials): send again after a backoff."""

    PERMANENT = "permanent"
    """FCM rejects this message as it is: log it and drop it."""


@dataclass(frozen=True)
class PushResult:
    """Outcome of one send, with a short reason for logs."""

    outcome: PushOutcome
    reason: str
    message_name: str | None = None
    """FCM's name for an accepted message: projects/{project}/messages/{id}."""
    retry_after: float | None = None
    """Seconds FCM asked to wait (Retry-After header), for RETRY outcomes."""


class PayloadTooLargeError(ValueError):
    """The message does not fit FCM's size limit even with empty title and body."""


def shorten_token(device_token: str) -> str:
    """Return the last 6 characters of a device token, for logs."""
    return "…" + device_token[-6:]


def backoff_seconds(
    attempt: int,
    retry_after: float | None = None,
    *,
    base: float = DEFAULT_BACKOFF_BASE_SECONDS,
    cap: float = DEFAULT_BACKOFF_CAP_SECONDS,
    rng: random.Random | None = None,
) -> float:
    """Return the delay in seconds before retry number `attempt` (1 for the first retry).

    The ceiling doubles from `base` per attempt up to `cap`, and the delay is
    drawn between half the ceiling and the ceiling, so senders that failed
    together spread out. A `retry_after` from FCM that is longer wins, even
    above `cap`, because FCM asked for it.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be 1 or more, got {attempt}")

    exponent = min(attempt - 1, _MAX_BACKOFF_EXPONENT)
    ceiling = min(cap, base * 2.0**exponent)
    delay = ceiling / 2 + (rng or random).uniform(0, ceiling / 2)

    if retry_after is not None and retry_after > delay:
        return float(retry_after)
    return delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Convert a Retry-After header (seconds or an HTTP date) to seconds, or None when absent or invalid."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def fit_notification(
    title: str, body: str, measure: Callable[[str, str], int], max_bytes: int
) -> tuple[str, str]:
    """Shorten `body`, then `title`, until `measure(title, body)` is at most `max_bytes`.

    Texts are cut between characters and a cut text ends in an ellipsis.
    `measure` returns the encoded size of the whole message, data included,
    so the data is never touched. Raises `PayloadTooLargeError` when even an
    empty title and body do not fit.
    """
    if measure(title, body) <= max_bytes:
        return title, body
    if measure("", "") > max_bytes:
        raise PayloadTooLargeError(f"the data alone takes {measure('', '')} bytes, more than {max_bytes}")

    if measure(title, "") <= max_bytes:
        return title, _longest_fitting_prefix(body, lambda text: measure(title, text) <= max_bytes)
    return _longest_fitting_prefix(title, lambda text: measure(text, "") <= max_bytes), ""


def _longest_fitting_prefix(text: str, fits: Callable[[str], bool]) -> str:
    """Return the longest `text[:n] + ELLIPSIS` that fits, or "" when none does.

    Binary search: the encoded size grows with `n`.
    """
    # NOTE: cuts between code points, so it can split a combined emoji or a
    # letter with a separate accent mark; a grapheme-aware cut needs the
    # `regex` package's \X or similar.
    low, high = 0, len(text) - 1
    best = ""
    while low <= high:
        middle = (low + high) // 2
        candidate = text[:middle] + ELLIPSIS if middle else ""
        if fits(candidate):
            best = candidate
            low = middle + 1
        else:
            high = middle - 1
    return best


class FcmPushSender:
    """Sends one notification per call to FCM with pyfcm and sorts the result.

    Safe to share between threads and eventlet green threads: they share one
    HTTP connection pool and one OAuth access token.
    """

    def __init__(
        self,
        service_account_file: str,
        project_id: str | None = None,
        *,
        base_url: str = GOOGLE_FCM_BASE_URL,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        max_connections: int = 20,
    ) -> None:
        """Load the service-account key; raises pyfcm's `InvalidDataError` when the file is missing.

        `base_url` replaces pyfcm's https://fcm.googleapis.com/v1/projects,
        for example with a local test server's URL. `max_connections` is the
        number of kept-alive connections to FCM, best set to the number of
        concurrent senders (nameko's max_workers).
        """
        self._timeout = (connect_timeout, read_timeout)
        self._max_message_bytes = max_message_bytes
        self._client = BoundFCMNotification(
            service_account_file, project_id, base_url, self._timeout, max_connections
        )

    @property
    def token_fetches(self) -> int:
        """Number of OAuth access tokens this sender has fetched."""
        return self._client.token_fetches

    def send(self, device_token: str, title: str, body: str, data: Mapping[str, str] | None = None) -> PushResult:
        """Send a notification with `data` to one device and return what happened."""
        short_token = shorten_token(device_token)
        data = dict(data or {})

        non_string_keys = sorted(key for key, value in data.items() if not isinstance(value, str))
        if non_string_keys:
            result = PushResult(PushOutcome.PERMANENT, f"data values must be strings: {', '.join(non_string_keys)}")
            return self._log_result(short_token, result)

        try:
            payload = self._build_payload(device_token, title, body, data, short_token)
        except PayloadTooLargeError as error:
            return self._log_result(short_token, PushResult(PushOutcome.PERMANENT, f"message too large: {error}"))

        try:
            response = self._client.send_request(payload, self._timeout)
        except requests.Timeout:
            result = PushResult(PushOutcome.RETRY, "FCM request timed out")
        except requests.RequestException as error:
            result = PushResult(PushOutcome.RETRY, f"network error: {type(error).__name__}: {error}")
        except google.auth.exceptions.GoogleAuthError as error:
            result = PushResult(PushOutcome.RETRY, f"access token fetch failed: {_first_line(error)}")
        else:
            result = self._classify_response(response)
        return self._log_result(short_token, result)

    def _build_payload(
        self, device_token: str, title: str, body: str, data: dict[str, str], short_token: str
    ) -> bytes:
        """Encode the request with pyfcm, shortening title and body when it exceeds the size limit.

        The size counted is that of the whole request body, which is larger
        than the part FCM counts, so a message that fits here fits FCM.
        """

        def encode(candidate_title: str, candidate_body: str) -> bytes:
            return self._client.parse_payload(
                fcm_token=device_token,
                notification_title=candidate_title,
                notification_body=candidate_body,
                data_payload=data or None,
            )

        fitted_title, fitted_body = fit_notification(
            title, body, lambda t, b: len(encode(t, b)), self._max_message_bytes
        )
        if (fitted_title, fitted_body) != (title, body):
            logger.info(
                "FCM push to device %s shortened to fit %d bytes: title %d→%d, body %d→%d characters",
                short_token,
                self._max_message_bytes,
                len(title),
                len(fitted_title),
                len(body),
                len(fitted_body),
            )
        return encode(fitted_title, fitted_body)

    def _classify_response(self, response: requests.Response) -> PushResult:
        """Map an FCM response to an outcome, by FCM's `errorCode` first and the HTTP status otherwise."""
        status = response.status_code
        if status == 200:
            return self._accepted(response)

        error_code, google_status, message = fcm_error_details(response)
        label = f"{error_code or google_status or 'no error code'} (HTTP {status})"
        detail = f"{label}: {message[:200]}" if message else label
        retry_after = parse_retry_after(response.headers.get("Retry-After"))

        if error_code in ("UNREGISTERED", "SENDER_ID_MISMATCH"):
            return PushResult(PushOutcome.DEAD_TOKEN, label)
        if error_code in ("QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL"):
            return PushResult(PushOutcome.RETRY, label, retry_after=retry_after)
        if error_code in ("INVALID_ARGUMENT", "THIRD_PARTY_AUTH_ERROR"):
            return PushResult(PushOutcome.PERMANENT, detail)

        # A 404 counts as a dead token only in a Google API error body: a 404
        # from a wrong URL or a proxy must not make the caller delete tokens.
        if status == 404 and google_status == "NOT_FOUND":
            return PushResult(PushOutcome.DEAD_TOKEN, label)
        # 401 after a token refresh and 403 without SENDER_ID_MISMATCH mean
        # the service account or project is wrong. Every message fails the same
        # way until someone fixes the configuration, so keep them for a retry.
        if status in (401, 403, 404, 408, 429) or status >= 500:
            return PushResult(PushOutcome.RETRY, detail, retry_after=retry_after)
        return PushResult(PushOutcome.PERMANENT, detail)

    def _accepted(self, response: requests.Response) -> PushResult:
        try:
            name = self._client.parse_response(response).get("name")
        except (FCMServerError, ValueError, AttributeError):
            name = None
        # FCM has accepted the message, so it is not sent again even when the
        # body carries no name: a retry could deliver it twice.
        if not name:
            return PushResult(PushOutcome.SENT, "accepted, but FCM returned no message name")
        return PushResult(PushOutcome.SENT, "accepted", message_name=name)

    def _log_result(self, short_token: str, result: PushResult) -> PushResult:
        if result.outcome is PushOutcome.SENT:
            logger.info("FCM push to device %s sent as %s", short_token, result.message_name)
        elif result.outcome is PushOutcome.DEAD_TOKEN:
            logger.info("FCM push to device %s failed, the token is dead: %s", short_token, result.reason)
        elif result.outcome is PushOutcome.RETRY:
            logger.warning(
                "FCM push to device %s failed, retry later (retry_after=%s): %s",
                short_token,
                result.retry_after,
                result.reason,
            )
        else:
            logger.error("FCM push to device %s rejected, dropping it: %s", short_token, result.reason)
        return result


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__

