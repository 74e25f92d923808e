"""One place that turns every failure into the JSON error body and HTTP status."""

from __future__ import annotations

import re

import structlog
from flask import Flask, g, jsonify
from marshmallow import ValidationError
from nameko.exceptions import IncorrectSignature, MalformedRequest, MethodNotFound, RemoteError, RpcTimeout, UnknownService
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from samen_common import i18n
from samen_common.errors import (
    Conflict,
    Forbidden,
    InternalError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RequestExpired,
    SamenError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
    UnsupportedMediaType,
)

log = structlog.get_logger(__name__)

RETRY_AFTER_SECONDS = 2

# Every error a service may raise, and the HTTP status the client gets for it. nameko rebuilds
# SamenError subclasses on this side of the RPC; any other remote error is a bug and becomes 500.
HTTP_STATUS: dict[type[Exception], int] = {
    InvalidInput: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    Unprocessable: 422,
    TooManyRequests: 429,
    InternalError: 500,
    ServiceUnavailable: 503,
    RequestExpired: 503,
    # nameko's own failures: a service that is not running, or a caller-side timeout.
    UnknownService: 503,
    RpcTimeout: 503,
    # A call that does not match the service's method is a gateway bug.
    MethodNotFound: 500,
    IncorrectSignature: 500,
    MalformedRequest: 500,
}


def status_for(exc: Exception) -> int:
    for klass in type(exc).__mro__:
        if klass in HTTP_STATUS:
            return HTTP_STATUS[klass]
    return getattr(exc, "status", 500)

i18n.register(
    {
        "method_not_allowed": {"nl": "Deze methode is hier niet toegestaan.", "en": "This method is not allowed here."},
        "invalid_json": {"nl": "De body is geen geldige JSON.", "en": "The body is not valid JSON."},
        "json_required": {
            "nl": "Stuur de body als JSON met Content-Type: application/json.",
            "en": "Send the body as JSON with Content-Type: application/json.",
        },
        "invalid_text": {
            "nl": "De body bevat tekst die geen geldige Unicode is.",
            "en": "The body contains text that is not valid Unicode.",
        },
        "validation_failed": {
            "nl": "Een of meer velden zijn ongeldig.",
            "en": "One or more fields are invalid.",
        },
    }
)


# marshmallow's own field messages, in Dutch; English keeps marshmallow's text.
VALIDATION_MESSAGES_NL = {
    "Missing data for required field.": "Dit veld is verplicht.",
    "Unknown field.": "Onbekend veld.",
    "Field may not be null.": "Dit veld mag niet leeg zijn.",
    "Not a valid string.": "Geen geldige tekst.",
    "Not a valid integer.": "Geen geldig geheel getal.",
    "Not a valid number.": "Geen geldig getal.",
    "Not a valid boolean.": "Geen geldige ja/nee-waarde.",
    "Not a valid date.": "Geen geldige datum.",
    "Not a valid datetime.": "Geen geldig tijdstip.",
    "Not a valid UUID.": "Geen geldig id.",
    "Not a valid list.": "Geen geldige lijst.",
    "Not a valid mapping type.": "Geen geldig object.",
    "Invalid input type.": "Ongeldig invoertype.",
    "Invalid value.": "Ongeldige waarde.",
}
_LENGTH = re.compile(r"^Length must be between (\d+) and (\d+)\.$")
_MIN_LENGTH = re.compile(r"^Shorter than minimum length (\d+)\.$")
_MAX_LENGTH = re.compile(r"^Longer than maximum length (\d+)\.$")
_ONE_OF = re.compile(r"^Must be one of: (.*)\.$")


def translate_validation(messages, lang: str):
    """Translate marshmallow's messages, nested per field, into the request's language."""
    if lang != "nl":
        return messages
    if isinstance(messages, dict):
        return {key: translate_validation(value, lang) for key, value in messages.items()}
    if isinstance(messages, list):
        return [translate_validation(value, lang) for value in messages]
    if not isinstance(messages, str):
        return messages
    if messages in VALIDATION_MESSAGES_NL:
        return VALIDATION_MESSAGES_NL[messages]
    for pattern, template in (
        (_LENGTH, "De lengte moet tussen {0} en {1} liggen."),
        (_MIN_LENGTH, "Korter dan de minimale lengte {0}."),
        (_MAX_LENGTH, "Langer dan de maximale lengte {0}."),
        (_ONE_OF, "Moet een van deze waarden zijn: {0}."),
    ):
        match = pattern.match(messages)
        if match:
            return template.format(*match.groups())
    return messages


def language() -> str:
    return getattr(g, "language", i18n.DEFAULT_LANGUAGE)


def error_response(code: str, message: str, status: int, details: dict | None = None, headers: dict | None = None):
    body = {"error": {"code": code, "message": message, "request_id": getattr(g, "request_id", None)}}
    if details:
        body["error"]["details"] = details
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def samen_error_response(exc: SamenError):
    headers = {}
    if isinstance(exc, ServiceUnavailable | RequestExpired):
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(int(exc.params.get("seconds", 60)))
    details = exc.params.get("fields") if isinstance(exc.params.get("fields"), dict) else None
    return error_response(exc.code, exc.message(language()), status_for(exc), details=details, headers=headers)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(SamenError)
    def handle_samen_error(exc: SamenError):
        if status_for(exc) >= 500:
            log.warning("request.failed", code=exc.code, status=exc.status)
        return samen_error_response(exc)

    @app.errorhandler(ValidationError)
    def handle_validation(exc: ValidationError):
        fields = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        fields = translate_validation(fields, language())
        return error_response(
            "validation_failed", i18n.translate("validation_failed", language()), 400, details=fields
        )

    @app.errorhandler(RequestEntityTooLarge)
    def handle_too_large(exc):
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        return samen_error_response(PayloadTooLarge(limit=f"{limit // (1024 * 1024)} MB"))

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException):
        mapping = {404: NotFound(), 400: InvalidInput()}
        if exc.code in mapping:
            return samen_error_response(mapping[exc.code])
        if exc.code == 405:
            return error_response("method_not_allowed", i18n.translate("method_not_allowed", language()), 405)
        return error_response(f"http_{exc.code}", exc.description or exc.name, exc.code or 500)

    @app.errorhandler(UnknownService)
    @app.errorhandler(RpcTimeout)
    def handle_unavailable(exc):
        return samen_error_response(ServiceUnavailable())

    @app.errorhandler(RemoteError)
    def handle_remote(exc: RemoteError):
        log.error("request.remote_error", exc_type=exc.exc_type, error=str(exc.value)[:500])
        return error_response("internal_error", i18n.translate("internal_error", language()), 500)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        log.exception("request.unexpected_error")
        return error_response("internal_error", i18n.translate("internal_error", language()), 500)
