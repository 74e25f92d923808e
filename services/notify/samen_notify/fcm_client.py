"""pyfcm 2.1.1 client adapted for a service that sends from many (green) threads.

pyfcm's `BaseAPI` as shipped:
- sleeps for any `Retry-After` it receives and then retries without limit,
- mounts a urllib3 `Retry` (10 retries, backoff_factor=1, on 502 and 503)
  that sleeps up to 120 s between attempts, 486 s in all with urllib3 2.x,
- fetches a separate OAuth token in every thread, because it keeps the
  token in thread-local session headers,
- refreshes the token only for a 401 whose details say ACCESS_TOKEN_EXPIRED,
  and then retries without limit,
- always sends to the class attribute `FCM_END_POINT_BASE`.

`BoundFCMNotification` overrides those parts on its own instances only, so
other pyfcm users in the process keep the library's behaviour.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import google.auth.transport.requests
import requests
from google.auth.credentials import TokenState
from pyfcm import FCMNotification
from requests.adapters import HTTPAdapter

logger = logging.getLogger(__name__)

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


class _TimeoutRequest(google.auth.transport.requests.Request):
    """google-auth transport that applies one (connect, read) timeout to every token fetch."""

    def __init__(self, session: requests.Session, timeout: tuple[float, float]) -> None:
        super().__init__(session)
        self._timeout = timeout

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):  # type: ignore[override]
        return super().__call__(url, method=method, body=body, headers=headers, timeout=self._timeout, **kwargs)


class BoundFCMNotification(FCMNotification):
    """pyfcm client with its own endpoint, one shared access token and no hidden retries or sleeps.

    `send_request` posts once, plus one more time after refreshing the access
    token when FCM rejects it with 401. The caller decides about retries.
    """

    def __init__(
        self,
        service_account_file: str,
        project_id: str | None,
        base_url: str,
        timeout: tuple[float, float],
        max_connections: int,
    ) -> None:
        # max_retries=0 makes urllib3 raise or return at once in place of
        # pyfcm's default policy, which retried 503 with growing sleeps.
        # Connections beyond `max_connections` are opened, used once and closed.
        adapter = HTTPAdapter(max_retries=0, pool_maxsize=max_connections)
        super().__init__(service_account_file=service_account_file, project_id=project_id, adapter=adapter)

        # An instance attribute shadows the class attribute for this client only.
        self.FCM_END_POINT_BASE = base_url.rstrip("/")
        self._timeout = timeout

        # One session for all threads: its urllib3 connection pool is
        # thread-safe, and the shared state requests warns about (cookies) is
        # unused because FCM sets none. Credentials travel per request.
        self._session = requests.Session()
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

        # Created here and not at import, so that under nameko it is the
        # green lock eventlet's monkey patching installs.
        self._token_lock = threading.Lock()
        self.token_fetches = 0

        # Loading the key now fails fast on a missing file and avoids pyfcm's
        # lazy loading, which races when two threads send first at once.
        self._initialize_credentials()
        self.fcm_end_point  # noqa: B018 - resolves and caches the send URL

    @property
    def requests_session(self) -> requests.Session:
        return self._session

    def _get_access_token(self) -> str:
        """Return the shared access token, fetching a new one when it is missing or near expiry.

        The lock makes concurrent senders wait for one fetch in place of each
        fetching its own token.
        """
        with self._token_lock:
            if self.credentials.token_state != TokenState.FRESH:
                # google-auth retries a failing token endpoint itself, at most
                # 3 attempts with short sleeps (google-auth 2.x).
                self.credentials.refresh(_TimeoutRequest(self._session, self._timeout))
                self.token_fetches += 1
                logger.info("Fetched FCM access token, valid until %s UTC", self.credentials.expiry)
            return self.credentials.token

    def _discard_access_token(self, token: str) -> None:
        """Forget `token` unless another thread has already replaced it."""
        with self._token_lock:
            if self.credentials.token == token:
                self.credentials.token = None

    def send_request(self, payload: bytes | None = None, timeout: Any = None) -> requests.Response:
        """Post `payload` and return FCM's response, whatever its status.

        Raises `requests.RequestException` for network errors and timeouts and
        `google.auth.exceptions.GoogleAuthError` when no access token can be fetched.
        """
        timeout = timeout or self._timeout
        token = self._get_access_token()
        response = self._post(payload, token, timeout)

        if response.status_code == 401 and not _fcm_error_code(response):
            logger.info("FCM rejected the access token (HTTP 401); fetching a new one")
            self._discard_access_token(token)
            token = self._get_access_token()
            response = self._post(payload, token, timeout)
        return response

    def _post(self, payload: bytes | None, token: str, timeout: Any) -> requests.Response:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        return self._session.post(self.fcm_end_point, data=payload, headers=headers, timeout=timeout)

    def request_headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json", "Authorization": f"Bearer {self._get_access_token()}"}


def _fcm_error_code(response: requests.Response) -> str | None:
    """Return the `errorCode` of an FCM error body, or None when it has none."""
    return fcm_error_details(response)[0]


def fcm_error_details(response: requests.Response) -> tuple[str | None, str | None, str]:
    """Return the FCM `errorCode`, the Google `status` and the `message` of an error response.

    Each part is None (or empty for the message) when the body is not a Google API error.
    """
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None, None, ""
    if not isinstance(error, dict):
        return None, None, ""

    error_code = None
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("@type") == FCM_ERROR_TYPE:
            error_code = detail.get("errorCode")
    status = error.get("status") if isinstance(error.get("status"), str) else None
    message = error.get("message") if isinstance(error.get("message"), str) else ""
    return error_code, status, message
