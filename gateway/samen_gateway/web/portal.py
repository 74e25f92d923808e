"""The web portal's request cycle: server-side session, token refresh, language, CSRF and headers."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from functools import wraps
from pathlib import Path
from urllib.parse import urlsplit

import structlog
from flask import abort, current_app, g, redirect, request, url_for
from nameko.exceptions import MethodNotFound, RemoteError

from samen_common import i18n
from samen_common.auth import verify_access_token
from samen_common.errors import SamenError, ServiceUnavailable, Unauthorized
from samen_gateway.context import rpc
from samen_gateway.web.sessions import SessionStore

log = structlog.get_logger(__name__)

SESSION_COOKIE = "samen_portal"
CSRF_COOKIE = "samen_csrf"
LANGUAGE_COOKIE = "samen_lang"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
# Refresh the access token this many seconds before it expires, so a page's RPCs never carry an
# expired token.
REFRESH_MARGIN_SECONDS = 30


class Unavailable:
    """Marker for data whose service or RPC is not running or not built yet."""

    def __bool__(self) -> bool:
        return False


UNAVAILABLE = Unavailable()


def store() -> SessionStore:
    existing = current_app.extensions.get("samen_portal_sessions")
    if existing is None:
        settings = current_app.config["SAMEN_SETTINGS"]
        existing = SessionStore(Path(settings.common.data_dir) / "portal-sessions")
        current_app.extensions["samen_portal_sessions"] = existing
    return existing


def secure_cookies() -> bool:
    return not current_app.config["SAMEN_SETTINGS"].common.is_development


# Session.


def begin_portal_request() -> None:
    """Load the session named by the cookie, refresh its access token when due, pick the language."""
    g.portal_session_id = None
    g.portal_session = None
    g.portal_new_cookies = {}
    session_id = request.cookies.get(SESSION_COOKIE)
    data = store().load(session_id)
    if data is not None:
        data = _fresh_tokens(session_id, data)
    if data is not None:
        g.portal_session_id = session_id
        g.portal_session = data
        g.access_token = data["access_token"]
        g.caller = verify_access_token(data["access_token"])
    g.language = _language(data)


def _fresh_tokens(session_id: str, data: dict) -> dict | None:
    if data["access_expires_at"] - REFRESH_MARGIN_SECONDS > time.time():
        return data
    # Refresh tokens rotate and a reused one revokes the whole login, so two requests of one
    # session must not refresh at once: the second waits and then reads the first one's tokens.
    with store().locked(session_id):
        data = store().load(session_id)
        if data is None:
            return None
        if data["access_expires_at"] - REFRESH_MARGIN_SECONDS > time.time():
            return data
        g.access_token = None
        try:
            tokens = rpc("accounts", "refresh", data["refresh_token"])
        except Unauthorized:
            log.info("portal.refresh_rejected", request_id=g.get("request_id"))
            store().delete(session_id)
            return None
        data.update(_token_fields(tokens))
        store().save(session_id, data)
        log.info("portal.tokens_refreshed", request_id=g.get("request_id"))
        return data


def _token_fields(tokens: dict) -> dict:
    return {
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "access_expires_at": time.time() + int(tokens["expires_in"]),
    }


def _language(data: dict | None) -> str:
    if data is not None and data.get("language"):
        return i18n.normalise_language(data["language"])
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in i18n.LANGUAGES:
        return cookie
    return i18n.pick_language(request.headers.get("Accept-Language"))


def start_session(tokens: dict, remember_me: bool) -> None:
    """Store fresh tokens under a new session id; a session id from before the login is dropped."""
    if g.get("portal_session_id"):
        store().delete(g.portal_session_id)
    g.access_token = tokens["access_token"]
    g.caller = verify_access_token(tokens["access_token"])
    profile = rpc("accounts", "me")
    data = {
        **_token_fields(tokens),
        "remember_me": bool(remember_me),
        "language": profile.get("language"),
        "kind": profile.get("kind"),
        "display_name": profile.get("display_name"),
    }
    session_id = store().create(data)
    g.portal_session_id = session_id
    g.portal_session = data
    g.language = i18n.normalise_language(profile.get("language"))
    cookie_age = 30 * 24 * 3600 if remember_me else None
    g.portal_new_cookies[SESSION_COOKIE] = (session_id, cookie_age)
    # A new CSRF secret after login, so a token seen before the login is worth nothing afterwards.
    g.portal_new_cookies[CSRF_COOKIE] = (secrets.token_urlsafe(32), None)
    if secrets.randbelow(50) == 0:
        store().sweep()


def update_session(**changes) -> None:
    if g.get("portal_session") is None:
        return
    g.portal_session.update(changes)
    store().save(g.portal_session_id, g.portal_session)


def end_session() -> None:
    if g.get("portal_session_id"):
        store().delete(g.portal_session_id)
    g.portal_session_id = None
    g.portal_session = None
    g.portal_new_cookies[SESSION_COOKIE] = ("", 0)


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("portal_session") is None:
            return redirect(url_for("web.login", next=_safe_next(request.full_path)))
        return view(*args, **kwargs)

    return wrapper


def staff_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not g.caller.is_staff:
            abort(404)
        return view(*args, **kwargs)

    return wrapper


def _safe_next(target: str | None) -> str:
    """Keep a redirect target only when it is a path on this site."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target.rstrip("?") or "/"


safe_next = _safe_next


# CSRF: a random secret in an HttpOnly cookie; forms carry an HMAC of it bound to the session id.


def _csrf_secret() -> str:
    pending = g.portal_new_cookies.get(CSRF_COOKIE)
    if pending:
        return pending[0]
    secret = request.cookies.get(CSRF_COOKIE)
    if not secret or len(secret) > 100:
        secret = secrets.token_urlsafe(32)
        g.portal_new_cookies[CSRF_COOKIE] = (secret, None)
    return secret


def csrf_token() -> str:
    message = f"{_csrf_secret()}|{g.get('portal_session_id') or ''}".encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), message, hashlib.sha256).hexdigest()


def check_csrf() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.form.get("csrf_token", "")
    secret = request.cookies.get(CSRF_COOKIE)
    if not secret:
        log.info("portal.csrf_missing_cookie", path=request.path)
        abort(400)
    message = f"{secret}|{g.get('portal_session_id') or ''}".encode()
    expected = hmac.new(current_app.config["SECRET_KEY"].encode(), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(sent, expected):
        log.info("portal.csrf_rejected", path=request.path)
        abort(400)


# Response headers.


def storage_origin() -> str | None:
    """Return the origin that serves photo files when it differs from the gateway's own."""
    try:
        from samen_media.settings import media_settings

        settings = media_settings()
    except Exception:  # noqa: BLE001 - media settings may be incomplete in a gateway without photos
        return None
    if settings.s3_endpoint_url:
        parts = urlsplit(settings.s3_endpoint_url)
        host = parts.netloc if settings.s3_path_style else f"{settings.s3_bucket}.{parts.netloc}"
        return f"{parts.scheme}://{host}"
    parts = urlsplit(settings.files_base_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else None


def content_security_policy() -> str:
    images = "'self' data:"
    origin = current_app.extensions.get("samen_portal_storage_origin")
    if origin is None:
        origin = storage_origin() or ""
        current_app.extensions["samen_portal_storage_origin"] = origin
    if origin:
        images += f" {origin}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    )


def finish_portal_response(response):
    response.headers["Content-Security-Policy"] = content_security_policy()
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["Content-Language"] = g.get("language", i18n.DEFAULT_LANGUAGE)
    response.vary.add("Cookie")
    for name, (value, max_age) in g.get("portal_new_cookies", {}).items():
        response.set_cookie(
            name, value, max_age=max_age, httponly=True, secure=secure_cookies(), samesite="Lax", path="/",
        )
    return response


# Calls to services that may not offer an RPC yet.


def shown_on_form(exc: SamenError) -> bool:
    """Tell whether a rejection is shown on the form that caused it.

    A 401 goes through the login redirect and a 5xx to the error page; every other status is a
    reason the person can act on.
    """
    return exc.status < 500 and exc.status != 401


def optional_rpc(service: str, method: str, *args, **kwargs):
    """Call an RPC; return UNAVAILABLE when the service or the method is not there (yet)."""
    try:
        return rpc(service, method, *args, **kwargs)
    except MethodNotFound:
        log.warning("portal.rpc_missing", service=service, method=method)
        return UNAVAILABLE
    except RemoteError as exc:
        if exc.exc_type == "MethodNotFound":
            log.warning("portal.rpc_missing", service=service, method=method)
            return UNAVAILABLE
        raise
    except ServiceUnavailable:
        log.warning("portal.service_unavailable", service=service, method=method)
        return UNAVAILABLE


def is_samen_error(exc: Exception) -> bool:
    return isinstance(exc, SamenError)
