"""Local server that speaks FCM's HTTP v1 send API and Google's OAuth2 JWT-bearer grant.

Tests start `FcmTestServer` in-process; developers run it as a command:

    python -m samen_devtools.fcm_server --port 8099 \
        --service-account-out var/fcm/service-account.json --project-id samen-dev

The generated service-account file points `token_uri` at this server, so
google-auth (and pyfcm through it) fetch access tokens here. Clients must also
send to this server's `/v1/projects` base URL in place of fcm.googleapis.com.

Control endpoints for tests, all JSON:

    POST /_test/unregistered     {"device_token"}                 404 UNREGISTERED from now on
    POST /_test/sender-mismatch  {"device_token"}                 403 SENDER_ID_MISMATCH from now on
    POST /_test/fail             {"error_code", "count"?, "device_token"?, "retry_after"?}
                                 without "count" every matching send fails until reset
    POST /_test/outage           {"seconds", "retry_after"?}      503 for token fetches and sends
    POST /_test/expire-tokens    {}                               every issued access token expires
    POST /_test/token-lifetime   {"seconds"}                      lifetime of tokens issued later
    POST /_test/reset            {}
    GET  /_test/messages[?device_token=...]
    GET  /_test/stats
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import os
import re
import secrets
import signal
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from samen_devtools.fcm_protocol import (
    FCM_ERRORS,
    FCM_SCOPE,
    GOOGLE_TOKEN_AUDIENCE,
    JWT_BEARER_GRANT_TYPE,
    MessageRejected,
    fcm_error_body,
    invalid_argument_body,
    oauth_error_body,
    permission_denied_body,
    unauthenticated_body,
    validate_send_request,
)
from samen_devtools.fcm_state import FcmState, InjectedError

logger = logging.getLogger(__name__)

LOOPBACK_HOST = "127.0.0.1"
SEND_PATH = re.compile(r"^/v1/projects/(?P<project_id>[^/]+)/messages:send$")

# Google rejects assertions that live longer than one hour.
MAX_ASSERTION_LIFETIME_SECONDS = 3600
# Allowed clock difference between client and server when checking `exp` and `iat`.
ASSERTION_LEEWAY_SECONDS = 60
MAX_REQUEST_BYTES = 1024 * 1024


class _LoopbackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # The standard library's default backlog of 5 made the kernel drop or
    # reset connections when 20 clients connected at once.
    request_queue_size = 128


class FcmTestServer(FcmState):
    """FCM HTTP v1 and OAuth2 token server on 127.0.0.1, run in a background thread.

    The fault-injection and inspection methods come from `FcmState`.
    """

    def __init__(self, port: int = 0, project_id: str = "samen-test", token_lifetime_seconds: int = 3600) -> None:
        super().__init__(project_id, token_lifetime_seconds)
        self._requested_port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

        self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = self._private_key.public_key()
        self.private_key_id = secrets.token_hex(20)
        self.client_email = f"firebase-adminsdk-local@{project_id}.iam.gserviceaccount.com"
        self.client_id = str(secrets.randbelow(10**21)).zfill(21)

    def start(self) -> FcmTestServer:
        """Bind the port and serve requests in a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("FCM test server is already running")

        httpd = _LoopbackHTTPServer((LOOPBACK_HOST, self._requested_port), _FcmRequestHandler)
        httpd.fcm = self  # type: ignore[attr-defined]
        self._httpd = httpd
        # A short poll interval makes stop() return within 50 ms in place of 0.5 s.
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fcm-test-server", daemon=True
        )
        self._thread.start()
        logger.info("FCM test server listening on %s for project %s", self.url, self.project_id)
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None
        logger.info("FCM test server stopped")

    def __enter__(self) -> FcmTestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FCM test server is not running; call start() first")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK_HOST}:{self.port}"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    @property
    def fcm_base_url(self) -> str:
        """Replacement for pyfcm's `FCM_END_POINT_BASE` (https://fcm.googleapis.com/v1/projects)."""
        return f"{self.url}/v1/projects"

    def service_account_info(self) -> dict[str, str]:
        """Return a service-account key in the format of the JSON files Google issues."""
        private_key_pem = self._private_key.private_bytes(
            encoding=serialization.Encoding.PEM,
            format=serialization.PrivateFormat.PKCS8,
            encryption_algorithm=serialization.NoEncryption(),
        ).decode("ascii")
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.private_key_id,
            "private_key": private_key_pem,
            "client_email": self.client_email,
            "client_id": self.client_id,
            "auth_uri": f"{self.url}/o/oauth2/auth",
            "token_uri": self.token_uri,
            "universe_domain": "googleapis.com",
        }

    def write_service_account(self, path: str | os.PathLike[str]) -> Path:
        """Write the service-account JSON file, readable by the owner only, and return its path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(self.service_account_info(), file, indent=2)
        return target

    def verify_assertion(self, assertion: str) -> dict[str, Any]:
        """Check a JWT-bearer assertion's signature, key id, issuer, audience and lifetime.

        Returns the claims, or raises `jwt.InvalidTokenError`.
        """
        header = jwt.get_unverified_header(assertion)
        key_id = header.get("kid")
        if key_id is not None and key_id != self.private_key_id:
            raise jwt.InvalidTokenError(f"unknown key id {key_id}")

        claims = jwt.decode(
            assertion,
            self.public_key,
            algorithms=["RS256"],
            audience=[self.token_uri, GOOGLE_TOKEN_AUDIENCE],
            issuer=self.client_email,
            leeway=ASSERTION_LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat"]},
        )
        if claims["exp"] - claims["iat"] > MAX_ASSERTION_LIFETIME_SECONDS:
            raise jwt.InvalidTokenError("assertion lives longer than one hour")
        if FCM_SCOPE not in str(claims.get("scope", "")).split():
            raise jwt.InvalidTokenError(f"scope {FCM_SCOPE} is missing")
        return claims


class _FcmRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SamenFcmTestServer/1"
    # Headers and body go out in two writes; with Nagle's algorithm on, the body waits for the
    # client's delayed ACK of the headers, about 40 ms per request on Linux loopback.
    disable_nagle_algorithm = True

    @property
    def fcm(self) -> FcmTestServer:
        return self.server.fcm  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - name fixed by the base class
        logger.debug("FCM test server: " + format, *args)

    # Routing

    def do_POST(self) -> None:  # noqa: N802 - name fixed by the base class
        path = urllib.parse.urlsplit(self.path).path
        body = self._read_body()
        if body is None:
            return

        if path == "/token":
            self._handle_token(body)
            return
        match = SEND_PATH.match(path)
        if match:
            self._handle_send(match["project_id"], body)
            return
        if path.startswith("/_test/"):
            self._handle_control(path.removeprefix("/_test/"), body)
            return
        self._send_not_found(path)

    def do_GET(self) -> None:  # noqa: N802 - name fixed by the base class
        parts = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parts.query)

        if parts.path == "/_test/messages":
            device_token = query.get("device_token", [None])[0]
            received = self.fcm.messages(device_token=device_token)
            self._send_json(200, {"messages": [message.to_json() for message in received]})
        elif parts.path == "/_test/stats":
            self._send_json(200, self.fcm.stats())
        else:
            self._send_not_found(parts.path)

    # OAuth2 token endpoint

    def _handle_token(self, body: bytes) -> None:
        outage = self.fcm.outage_error()
        if outage is not None:
            self._send_fcm_error(outage)
            return

        form = urllib.parse.parse_qs(body.decode("utf-8", errors="replace"))
        grant_type = form.get("grant_type", [""])[0]
        assertion = form.get("assertion", [""])[0]
        if grant_type != JWT_BEARER_GRANT_TYPE:
            self._send_json(400, oauth_error_body("unsupported_grant_type", f"Invalid grant_type: {grant_type}"))
            return
        if not assertion:
            self._send_json(400, oauth_error_body("invalid_request", "Missing required parameter: assertion"))
            return

        try:
            self.fcm.verify_assertion(assertion)
        except jwt.InvalidSignatureError:
            self._send_json(400, oauth_error_body("invalid_grant", "Invalid JWT Signature."))
            return
        except jwt.InvalidTokenError as error:
            self._send_json(400, oauth_error_body("invalid_grant", f"Invalid JWT: {error}"))
            return

        access_token, lifetime = self.fcm.issue_access_token()
        self._send_json(200, {"access_token": access_token, "expires_in": lifetime, "token_type": "Bearer"})

    # FCM send endpoint

    def _handle_send(self, project_id: str, body: bytes) -> None:
        self.fcm.count_send_request()

        outage = self.fcm.outage_error()
        if outage is not None:
            self._reject_send(*fcm_error_body(outage.error_code), retry_after=outage.retry_after)
            return

        problem = self.fcm.access_token_problem(self._bearer_token())
        if problem is not None:
            self._reject_send(*unauthenticated_body(problem))
            return
        if project_id != self.fcm.project_id:
            self._reject_send(*permission_denied_body(project_id))
            return

        try:
            message, validate_only = validate_send_request(json.loads(body))
        except (ValueError, UnicodeDecodeError):
            self._reject_send(*invalid_argument_body(MessageRejected("Invalid JSON payload received.")))
            return
        except MessageRejected as rejection:
            self._reject_send(*invalid_argument_body(rejection))
            return

        injected = self.fcm.take_send_error(message.get("token"))
        if injected is not None:
            self._send_fcm_error(injected)
            return

        name = self.fcm.record_message(message, validate_only)
        self._send_json(200, {"name": name})

    def _bearer_token(self) -> str | None:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None

    def _send_fcm_error(self, injected: InjectedError) -> None:
        status, body = fcm_error_body(injected.error_code)
        self._reject_send(status, body, retry_after=injected.retry_after)

    def _reject_send(self, status: int, body: dict[str, Any], retry_after: int | None = None) -> None:
        self.fcm.count_rejected_send()
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        self._send_json(status, body, headers)

    # Control endpoints

    def _handle_control(self, action: str, body: bytes) -> None:
        try:
            arguments = json.loads(body) if body else {}
            if not isinstance(arguments, dict):
                raise ValueError("expected a JSON object")
            self._run_control(action, arguments)
        except KeyError as missing:
            self._send_json(400, {"error": f"missing field {missing.args[0]!r} for /_test/{action}"})
        except (ValueError, TypeError) as error:
            self._send_json(400, {"error": f"invalid request for /_test/{action}: {error}"})

    def _run_control(self, action: str, arguments: dict[str, Any]) -> None:
        fcm = self.fcm
        if action == "unregistered":
            fcm.mark_unregistered(str(arguments["device_token"]))
        elif action == "sender-mismatch":
            fcm.mark_sender_mismatch(str(arguments["device_token"]))
        elif action == "fail":
            self._run_fail(arguments)
        elif action == "outage":
            fcm.start_outage(float(arguments["seconds"]), _optional_int(arguments.get("retry_after")))
        elif action == "expire-tokens":
            fcm.expire_access_tokens()
        elif action == "token-lifetime":
            fcm.set_token_lifetime(int(arguments["seconds"]))
        elif action == "reset":
            fcm.reset()
        else:
            self._send_json(404, {"error": f"unknown control endpoint /_test/{action}"})
            return
        self._send_json(200, {"ok": True})

    def _run_fail(self, arguments: dict[str, Any]) -> None:
        error_code = str(arguments["error_code"])
        if error_code not in FCM_ERRORS:
            raise ValueError(f"unknown error_code {error_code!r}; expected one of {sorted(FCM_ERRORS)}")
        retry_after = _optional_int(arguments.get("retry_after"))
        device_token = arguments.get("device_token")
        count = arguments.get("count")

        if count is not None:
            self.fcm.fail_next(int(count), error_code, retry_after, device_token)
        elif device_token is not None:
            self.fcm.fail_token(str(device_token), error_code, retry_after)
        else:
            raise ValueError("give count, device_token or both")

    # Request and response plumbing

    def _read_body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self._send_json(413, {"error": {"code": 413, "message": "Request body too large.", "status": "INVALID_ARGUMENT"}})
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _send_not_found(self, path: str) -> None:
        """Send an HTML 404 for an unknown path, as Google's front end does, in place of an API error."""
        page = f"<!DOCTYPE html><title>Error 404 (Not Found)</title><p>The requested URL {html.escape(path)} was not found."
        encoded = page.encode("utf-8")
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=UTF-8")
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        encoded = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(encoded)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(encoded)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m samen_devtools.fcm_server",
        description="Serve FCM's HTTP v1 send API and Google's OAuth2 token endpoint on 127.0.0.1 for local tests.",
    )
    parser.add_argument("--port", type=int, default=8099, help="TCP port on 127.0.0.1; 0 picks a free port (default 8099)")
    parser.add_argument(
        "--service-account-out",
        type=Path,
        required=True,
        help="path of the service-account JSON file to write; its token_uri points at this server",
    )
    parser.add_argument("--project-id", default="samen-dev", help="Firebase project id (default samen-dev)")
    parser.add_argument(
        "--token-lifetime", type=int, default=3600, help="lifetime of issued access tokens in seconds (default 3600)"
    )
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    server = FcmTestServer(port=args.port, project_id=args.project_id, token_lifetime_seconds=args.token_lifetime)
    server.start()
    written = server.write_service_account(args.service_account_out)
    logger.info("Service-account file written to %s; send to %s", written, server.fcm_base_url)

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    server.stop()


if __name__ == "__main__":
    main()
