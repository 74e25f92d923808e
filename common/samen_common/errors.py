"""The error base class that every service raises and the gateway maps to HTTP.

An error crosses RPC as `(code, messages, params)` arguments; nameko rebuilds the same class
on the caller's side because every class here is registered with `deserialize_to_instance`.
"""

from __future__ import annotations

from typing import Any

from nameko.exceptions import deserialize_to_instance

from samen_common import i18n


class SamenError(Exception):
    """A failure with a stable code, an HTTP status and a message in every language."""

    status = 500
    default_code = "internal_error"

    def __init__(
        self,
        code: str | None = None,
        messages: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        **format_params: Any,
    ) -> None:
        code = code or self.default_code
        params = dict(params or {})
        params.update(format_params)
        if messages is None:
            key = code if i18n.has(code) else self.default_code
            messages = i18n.render_all(key, **params)
        super().__init__(code, messages, params)
        self.code = code
        self.messages = messages
        self.params = params

    def message(self, language: str | None) -> str:
        lang = i18n.normalise_language(language)
        return self.messages.get(lang) or self.messages.get(i18n.DEFAULT_LANGUAGE) or self.code

    def __str__(self) -> str:
        return f"{self.code}: {self.messages.get('en', '')}"


@deserialize_to_instance
class InvalidInput(SamenError):
    status = 400
    default_code = "invalid_input"


@deserialize_to_instance
class Unauthorized(SamenError):
    status = 401
    default_code = "unauthorized"


@deserialize_to_instance
class Forbidden(SamenError):
    """A permission failure that may be shown as such; unknown and foreign ids use NotFound."""

    status = 403
    default_code = "forbidden"


@deserialize_to_instance
class NotFound(SamenError):
    status = 404
    default_code = "not_found"


@deserialize_to_instance
class Conflict(SamenError):
    status = 409
    default_code = "conflict"


@deserialize_to_instance
class PayloadTooLarge(SamenError):
    status = 413
    default_code = "payload_too_large"


@deserialize_to_instance
class UnsupportedMediaType(SamenError):
    status = 415
    default_code = "unsupported_media_type"


@deserialize_to_instance
class Unprocessable(SamenError):
    """Well-formed input that a domain rule rejects (a closing day, a full group)."""

    status = 422
    default_code = "invalid_input"


@deserialize_to_instance
class TooManyRequests(SamenError):
    status = 429
    default_code = "too_many_requests"


@deserialize_to_instance
class ServiceUnavailable(SamenError):
    status = 503
    default_code = "service_unavailable"


@deserialize_to_instance
class RequestExpired(SamenError):
    """The caller's deadline passed before a worker picked the request up."""

    status = 503
    default_code = "request_expired"


@deserialize_to_instance
class InternalError(SamenError):
    status = 500
    default_code = "internal_error"


i18n.register(
    {
        "payload_too_large": {
            "nl": "Het bestand of verzoek is te groot (maximaal {limit}).",
            "en": "The file or request is too large (at most {limit}).",
        },
        "unsupported_media_type": {
            "nl": "Dit bestandstype wordt niet ondersteund.",
            "en": "This file type is not supported.",
        },
    }
)
