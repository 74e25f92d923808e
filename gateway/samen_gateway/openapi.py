"""OpenAPI 3 document generated from the marshmallow schemas of every endpoint."""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from samen_gateway.endpoints import OPERATIONS

_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-zA-Z_][a-zA-Z0-9_]*)>")

ERROR_DESCRIPTIONS = {
    400: "Invalid input",
    401: "Missing, invalid or expired access token",
    404: "Unknown id, or an id the caller may not see",
    409: "Conflict with the current state",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Rejected by a domain rule",
    429: "Too many attempts; see Retry-After",
    503: "A service or the broker is briefly unavailable; see Retry-After",
}


def build_spec(app) -> dict:
    spec = APISpec(
        title="Samen API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "HTTP API of the Samen parent-communication platform."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema(
        "Error",
        {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "request_id": {"type": "string"},
                        "details": {"type": "object"},
                    },
                    "required": ["code", "message", "request_id"],
                }
            },
        },
    )
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        path = _CONVERTER.sub(r"{\1}", op.rule)
        operation: dict = {"summary": op.summary, "tags": op.tags, "responses": {}}
        parameters = [
            {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
            for name in _CONVERTER.findall(op.rule)
        ]
        if op.query is not None:
            parameters.append({"in": "query", "schema": op.query})
        if parameters:
            operation["parameters"] = parameters
        if op.body is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
        if op.response is not None:
            schema = {"type": "array", "items": op.response} if op.many else op.response
            operation["responses"][str(op.status)] = {
                "description": "Success", "content": {"application/json": {"schema": schema}}
            }
        else:
            operation["responses"][str(op.status)] = {"description": "Success"}
        for status in op.errors:
            operation["responses"][str(status)] = {
                "description": ERROR_DESCRIPTIONS.get(status, "Error"),
                "content": {"application/json": {"schema": "Error"}},
            }
        if op.auth:
            operation["security"] = [{"bearer": []}]
        paths.setdefault(path, {})[op.method] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
