"""Wire formats of FCM's HTTP v1 send API and Google's OAuth2 token endpoint.

The error bodies follow FCM's `ErrorCode` reference
(https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode) and
responses of fcm.googleapis.com quoted in client libraries' issue trackers: a
Google API error with `code`, `message`, `status` and a `details` list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"

JWT_BEARER_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"

# google-auth 2.x signs its assertions for this audience whatever `token_uri`
# the service-account file names, so a server that only accepted its own URL
# would reject the real client.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"

# FCM's limit on the payload of one message: the keys and values of `data`
# plus the notification texts, counted in UTF-8 bytes.
MAX_PAYLOAD_BYTES = 4096
MAX_TOPIC_PAYLOAD_BYTES = 2048

# Keys FCM uses itself and rejects in `message.data`.
RESERVED_DATA_KEYS = frozenset({"from", "notification", "message_type"})
RESERVED_DATA_KEY_PREFIXES = ("google", "gcm")

MESSAGE_FIELDS = frozenset(
    {
        "name",
        "data",
        "notification",
        "android",
        "webpush",
        "apns",
        "fcm_options",
        "token",
        "topic",
        "condition",
    }
)
TARGET_FIELDS = ("token", "topic", "condition")
NOTIFICATION_FIELDS = frozenset({"title", "body", "image"})


@dataclass(frozen=True)
class FcmErrorKind:
    """One FCM `errorCode` with the HTTP status and Google status it comes with."""

    error_code: str
    http_status: int
    status: str
    message: str


FCM_ERRORS: dict[str, FcmErrorKind] = {
    kind.error_code: kind
    for kind in (
        FcmErrorKind("INVALID_ARGUMENT", 400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
        FcmErrorKind("THIRD_PARTY_AUTH_ERROR", 401, "UNAUTHENTICATED", "Auth error from APNS or Web Push Service"),
        FcmErrorKind("SENDER_ID_MISMATCH", 403, "PERMISSION_DENIED", "SenderId mismatch"),
        FcmErrorKind("UNREGISTERED", 404, "NOT_FOUND", "Requested entity was not found."),
        FcmErrorKind("QUOTA_EXCEEDED", 429, "RESOURCE_EXHAUSTED", "Quota exceeded for sending messages."),
        FcmErrorKind("INTERNAL", 500, "INTERNAL", "Internal error encountered."),
        FcmErrorKind("UNAVAILABLE", 503, "UNAVAILABLE", "The service is currently unavailable."),
    )
}


class MessageRejected(Exception):
    """A send request that FCM would reject with 400 INVALID_ARGUMENT."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def fcm_error_body(error_code: str, message: str | None = None) -> tuple[int, dict[str, Any]]:
    """Build the HTTP status and JSON body FCM returns for `error_code`."""
    kind = FCM_ERRORS[error_code]
    body = {
        "error": {
            "code": kind.http_status,
            "message": message or kind.message,
            "status": kind.status,
            "details": [{"@type": FCM_ERROR_TYPE, "errorCode": kind.error_code}],
        }
    }
    return kind.http_status, body


def invalid_argument_body(rejection: MessageRejected) -> tuple[int, dict[str, Any]]:
    """Build a 400 body, with a `google.rpc.BadRequest` detail when the rejection names a field."""
    status, body = fcm_error_body("INVALID_ARGUMENT", rejection.message)
    if rejection.field is not None:
        violation = {"field": rejection.field, "description": rejection.message}
        body["error"]["details"].append({"@type": BAD_REQUEST_TYPE, "fieldViolations": [violation]})
    return status, body


def unauthenticated_body(reason: str) -> tuple[int, dict[str, Any]]:
    """Build the 401 body Google's API front end returns for a missing or bad access token.

    `reason` is `CREDENTIALS_MISSING`, `ACCESS_TOKEN_EXPIRED` or
    `ACCESS_TOKEN_TYPE_UNSUPPORTED` (a token the server never issued).
    """
    if reason == "CREDENTIALS_MISSING":
        message = (
            "Request is missing required authentication credential. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential."
        )
    else:
        message = (
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential."
        )
    detail = {
        "@type": ERROR_INFO_TYPE,
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {
            "service": "fcm.googleapis.com",
            "method": "google.firebase.fcm.v1.FcmService.SendMessage",
        },
    }
    body = {"error": {"code": 401, "message": message, "status": "UNAUTHENTICATED", "details": [detail]}}
    return 401, body


def permission_denied_body(project_id: str) -> tuple[int, dict[str, Any]]:
    """Build the 403 body for a send to a project the credentials do not belong to."""
    message = (
        f"Permission 'cloudmessaging.messages.create' denied on resource "
        f"'//cloudresourcemanager.googleapis.com/projects/{project_id}' (or it may not exist)."
    )
    detail = {
        "@type": ERROR_INFO_TYPE,
        "reason": "IAM_PERMISSION_DENIED",
        "domain": "cloudresourcemanager.googleapis.com",
        "metadata": {"permission": "cloudmessaging.messages.create"},
    }
    body = {"error": {"code": 403, "message": message, "status": "PERMISSION_DENIED", "details": [detail]}}
    return 403, body


def oauth_error_body(error: str, description: str) -> dict[str, str]:
    """Build an OAuth2 token endpoint error body (RFC 6749, section 5.2)."""
    return {"error": error, "error_description": description}


def payload_size(message: dict[str, Any]) -> int:
    """Count the UTF-8 bytes of the data keys and values and the notification texts."""
    # NOTE: FCM documents the limit only as "keys and values of the payload
    # data"; whether it counts other fields (android, apns) is not known here.
    size = 0
    for key, value in (message.get("data") or {}).items():
        size += len(key.encode("utf-8")) + len(value.encode("utf-8"))
    for value in (message.get("notification") or {}).values():
        size += len(value.encode("utf-8"))
    return size


def validate_send_request(body: Any) -> tuple[dict[str, Any], bool]:
    """Check a `messages:send` request body the way FCM does.

    Returns the `message` object and the `validate_only` flag, or raises
    `MessageRejected` with the reason FCM would give.
    """
    if not isinstance(body, dict):
        raise MessageRejected("Invalid JSON payload received. Expected an object.")

    unknown = sorted(set(body) - {"message", "validate_only"})
    if unknown:
        raise MessageRejected(f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.')

    validate_only = body.get("validate_only", False)
    if not isinstance(validate_only, bool):
        raise MessageRejected("Invalid value at 'validate_only' (TYPE_BOOL)", field="validate_only")

    message = body.get("message")
    if not isinstance(message, dict):
        raise MessageRejected("Request contains an invalid argument: message is missing.", field="message")

    _validate_message_fields(message)
    _validate_target(message)
    _validate_data(message)
    _validate_notification(message)
    _validate_size(message)
    return message, validate_only


def _validate_message_fields(message: dict[str, Any]) -> None:
    unknown = sorted(set(message) - MESSAGE_FIELDS)
    if unknown:
        raise MessageRejected(
            f"Invalid JSON payload received. Unknown name \"{unknown[0]}\" at 'message': Cannot find field.",
            field="message",
        )


def _validate_target(message: dict[str, Any]) -> None:
    targets = [field for field in TARGET_FIELDS if field in message]
    if not targets:
        raise MessageRejected("Recipient of the message is not set.", field="message")
    if len(targets) > 1:
        raise MessageRejected(
            f"Invalid value at 'message' (oneof), oneof field 'target' is already set. Cannot set '{targets[1]}'",
            field="message",
        )

    target = targets[0]
    value = message[target]
    if not isinstance(value, str) or not value.strip():
        if target == "token":
            raise MessageRejected("The registration token is not a valid FCM registration token", field="message.token")
        raise MessageRejected(f"Invalid value at 'message.{target}' (TYPE_STRING)", field=f"message.{target}")


def _validate_data(message: dict[str, Any]) -> None:
    data = message.get("data")
    if data is None:
        return
    if not isinstance(data, dict):
        raise MessageRejected("Invalid value at 'message.data' (map)", field="message.data")

    for index, (key, value) in enumerate(data.items()):
        if not isinstance(value, str):
            field = f"message.data[{index}].value"
            raise MessageRejected(f"Invalid value at '{field}' (TYPE_STRING), {value!r}", field=field)
        lowered = key.lower()
        if lowered in RESERVED_DATA_KEYS or lowered.startswith(RESERVED_DATA_KEY_PREFIXES):
            raise MessageRejected(f"Invalid data payload key: {key}", field=f"message.data[{index}].key")


def _validate_notification(message: dict[str, Any]) -> None:
    notification = message.get("notification")
    if notification is None:
        return
    if not isinstance(notification, dict):
        raise MessageRejected("Invalid value at 'message.notification'", field="message.notification")

    for key, value in notification.items():
        if key not in NOTIFICATION_FIELDS:
            raise MessageRejected(
                f"Invalid JSON payload received. Unknown name \"{key}\" at 'message.notification': Cannot find field.",
                field="message.notification",
            )
        if not isinstance(value, str):
            field = f"message.notification.{key}"
            raise MessageRejected(f"Invalid value at '{field}' (TYPE_STRING), {value!r}", field=field)


def _validate_size(message: dict[str, Any]) -> None:
    limit = MAX_TOPIC_PAYLOAD_BYTES if "topic" in message else MAX_PAYLOAD_BYTES
    size = payload_size(message)
    if size > limit:
        raise MessageRejected(f"Message is too big: {size} bytes of payload, the limit is {limit} bytes.")
