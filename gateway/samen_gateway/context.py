"""Per-request state: request id, language, caller and the RPC helper."""

from __future__ import annotations

import re
import time
import uuid

from flask import current_app, g, request

from samen_common import context as ctx_keys
from samen_common import i18n
from samen_common.auth import Caller, verify_access_token
from samen_common.errors import Unauthorized

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def begin_request() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.started = time.monotonic()
    g.caller = None
    g.access_token = None
    g.language = i18n.pick_language(request.headers.get("Accept-Language"))
    token = _bearer_token()
    if token is not None:
        # A token that fails verification gets 401 even on endpoints that work without one.
        g.caller = verify_access_token(token)
        g.access_token = token
        # The account's own language setting wins over the browser's Accept-Language.
        g.language = i18n.normalise_language(g.caller.language)


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized()
    return value.strip()


def client_address() -> str:
    return request.remote_addr or "unknown"


def current_caller() -> Caller:
    caller = g.get("caller")
    if caller is None:
        raise Unauthorized()
    return caller


def rpc(service: str, method: str, *args, **kwargs):
    """Call a service method with the request's context; raise SamenError subclasses."""
    pool = current_app.extensions["samen_rpc_pool"]
    return pool.call(service, method, call_context(), *args, **kwargs)


def call_context() -> dict:
    """Build the RPC context data of the current request, with a deadline from the pool's timeout."""
    pool = current_app.extensions["samen_rpc_pool"]
    timeout = pool.timeout
    data = {
        ctx_keys.REQUEST_ID: g.request_id,
        ctx_keys.LANGUAGE: g.language,
        ctx_keys.DEADLINE: time.time() + timeout,
        ctx_keys.CLIENT_ADDRESS: client_address(),
    }
    if g.get("access_token"):
        data[ctx_keys.ACCESS_TOKEN] = g.access_token
    return data
