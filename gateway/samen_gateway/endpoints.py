"""Route declaration with marshmallow schemas, feeding both validation and the OpenAPI document."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from flask import Blueprint, jsonify, request
from marshmallow import Schema, ValidationError

from samen_common.errors import InvalidInput
from samen_gateway.context import current_caller


@dataclass
class Operation:
    rule: str
    method: str
    summary: str
    tags: list[str]
    body: type[Schema] | None
    query: type[Schema] | None
    response: type[Schema] | None
    status: int
    auth: bool
    many: bool
    errors: list[int] = field(default_factory=list)


OPERATIONS: list[Operation] = []


def endpoint(
    blueprint: Blueprint,
    rule: str,
    method: str = "GET",
    *,
    summary: str,
    body: type[Schema] | None = None,
    query: type[Schema] | None = None,
    response: type[Schema] | None = None,
    many: bool = False,
    status: int = 200,
    auth: bool = True,
    tags: list[str] | None = None,
    errors: list[int] | None = None,
):
    """Register a JSON endpoint: parse and validate input, require a caller, dump the result.

    The view receives `body=` and `query=` keyword arguments with the loaded data. It returns
    the object to dump with `response`, or a Flask response to send as it is.
    """
    prefix = blueprint.url_prefix or ""
    OPERATIONS.append(
        Operation(prefix + rule, method.lower(), summary, tags or [blueprint.name], body, query, response,
                  status, auth, many, errors or [])
    )

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if auth:
                current_caller()
            if body is not None:
                payload = request.get_json(silent=True)
                if payload is None:
                    raise InvalidInput("invalid_json")
                kwargs["body"] = body().load(payload)
            if query is not None:
                kwargs["query"] = query().load(request.args.to_dict())
            result = view(*args, **kwargs)
            if response is None or not _is_data(result):
                return result
            return jsonify(response(many=many).dump(result)), status

        blueprint.add_url_rule(rule, endpoint=view.__name__, view_func=wrapper, methods=[method])
        return wrapper

    return decorator


def _is_data(result) -> bool:
    return isinstance(result, dict | list) or hasattr(result, "__dict__") and not hasattr(result, "status_code")


__all__ = ["endpoint", "OPERATIONS", "ValidationError"]
