"""The server-rendered web portal for guardians and staff, in Dutch and English.

Pages call the services over RPC exactly as the JSON API does, with the tokens of a server-side
session. Every page works without JavaScript.
"""

from __future__ import annotations

from datetime import date, datetime

import structlog
from babel.dates import format_date, format_datetime
from flask import Blueprint, g, redirect, render_template, request, url_for
from nameko.exceptions import RemoteError
from werkzeug.exceptions import HTTPException

from samen_common import i18n
from samen_common.errors import SamenError, Unauthorized
from samen_common.timeutil import AMSTERDAM
from samen_gateway.web import portal, texts

log = structlog.get_logger(__name__)

bp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/portal-static",
)

bp.before_request(portal.begin_portal_request)
bp.before_request(portal.check_csrf)
bp.after_request(portal.finish_portal_response)


@bp.app_template_global("t")
def translate(key: str, **params) -> str:
    return texts.translate(key, g.get("language", i18n.DEFAULT_LANGUAGE), **params)


bp.add_app_template_global(portal.csrf_token, "csrf_token")


@bp.app_template_test("unavailable")
def is_unavailable(value) -> bool:
    return value is portal.UNAVAILABLE


@bp.app_template_filter("local_time")
def local_time(value: str | None) -> str:
    """Format an aware ISO timestamp in Amsterdam time in the page's language."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value).astimezone(AMSTERDAM)
    except ValueError:
        return value
    return format_datetime(moment, "d MMM y HH:mm", locale=g.get("language", i18n.DEFAULT_LANGUAGE))


@bp.app_template_filter("local_date")
def local_date(value: str | None) -> str:
    """Format an ISO date, or the Amsterdam date of an aware timestamp, in the page's language."""
    if not value:
        return ""
    try:
        day = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value).astimezone(AMSTERDAM).date()
    except ValueError:
        return value
    return format_date(day, "EEE d MMM y", locale=g.get("language", i18n.DEFAULT_LANGUAGE))


@bp.context_processor
def page_globals() -> dict:
    return {
        "lang": g.get("language", i18n.DEFAULT_LANGUAGE),
        "signed_in": g.get("portal_session") is not None,
        "session_data": g.get("portal_session") or {},
        "is_staff": bool(g.get("caller") and g.caller.is_staff),
    }


@bp.errorhandler(Unauthorized)
def handle_unauthorized(exc):
    portal.end_session()
    return redirect(url_for("web.login", next=portal.safe_next(request.full_path)))


@bp.errorhandler(SamenError)
def handle_samen_error(exc: SamenError):
    if exc.status >= 500:
        log.warning("portal.request_failed", code=exc.code, status=exc.status, request_id=g.get("request_id"))
    message = exc.message(g.get("language", i18n.DEFAULT_LANGUAGE))
    return render_template("error.html", status=exc.status, message=message), exc.status


@bp.errorhandler(HTTPException)
def handle_http(exc: HTTPException):
    key = {400: "error.bad_request", 404: "error.not_found", 405: "error.bad_request"}.get(exc.code, "error.generic")
    return render_template("error.html", status=exc.code, message=translate(key)), exc.code or 500


@bp.errorhandler(RemoteError)
def handle_remote(exc: RemoteError):
    log.error("portal.remote_error", exc_type=exc.exc_type, error=str(exc.value)[:300], request_id=g.get("request_id"))
    return render_template("error.html", status=500, message=translate("error.generic")), 500


@bp.errorhandler(Exception)
def handle_unexpected(exc: Exception):
    log.exception("portal.unexpected_error", request_id=g.get("request_id"))
    return render_template("error.html", status=500, message=translate("error.generic")), 500


from samen_gateway.web import views_auth, views_parent, views_staff  # noqa: E402,F401 - registers the routes
