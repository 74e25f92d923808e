"""Write docs/events.asyncapi.yaml (AsyncAPI 2.6) from the event contracts.

    python -m samen_devtools.asyncapi            # write the file
    python -m samen_devtools.asyncapi --check    # exit 1 when the file is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml
from marshmallow import fields, validate

from samen_common.contracts import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    STAFF_TOOLS_EXCHANGE,
    EventContract,
    all_contracts,
)
from samen_common.settings import project_root

OUTPUT = project_root() / "docs" / "events.asyncapi.yaml"


def field_schema(field: fields.Field) -> dict:
    """Return the JSON Schema of one marshmallow field, with its validators as constraints."""
    if isinstance(field, fields.Nested):
        schema = object_schema(field.schema.fields)
    elif isinstance(field, fields.List):
        schema = {"type": "array", "items": field_schema(field.inner)}
    elif isinstance(field, fields.UUID):
        schema = {"type": "string", "format": "uuid"}
    elif isinstance(field, fields.DateTime):
        schema = {"type": "string", "format": "date-time"}
    elif isinstance(field, fields.Date):
        schema = {"type": "string", "format": "date"}
    elif isinstance(field, fields.Email):
        schema = {"type": "string", "format": "email"}
    elif isinstance(field, fields.Boolean):
        schema = {"type": "boolean"}
    elif isinstance(field, fields.Integer):
        schema = {"type": "integer"}
    elif isinstance(field, fields.String):
        schema = {"type": "string"}
    else:
        raise TypeError(f"no JSON Schema mapping for {type(field).__name__}")

    for validator in field.validators:
        _apply_validator(schema, validator)
    if field.allow_none:
        schema = {"oneOf": [schema, {"type": "null"}]}
    description = field.metadata.get("description")
    if description:
        schema["description"] = description
    return schema


def _apply_validator(schema: dict, validator) -> None:
    array = schema.get("type") == "array"
    if isinstance(validator, validate.Equal):
        schema["const"] = validator.comparable
    elif isinstance(validator, validate.OneOf):
        schema["enum"] = list(validator.choices)
    elif isinstance(validator, validate.Length):
        if validator.min is not None:
            schema["minItems" if array else "minLength"] = validator.min
        if validator.max is not None:
            schema["maxItems" if array else "maxLength"] = validator.max
    elif isinstance(validator, validate.Range):
        if validator.min is not None:
            schema["minimum"] = validator.min
        if validator.max is not None:
            schema["maximum"] = validator.max
    elif isinstance(validator, validate.Regexp):
        schema["pattern"] = validator.regex.pattern


def object_schema(declared: dict[str, fields.Field]) -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [name for name, field in declared.items() if field.required],
        "properties": {name: field_schema(field) for name, field in declared.items()},
    }


def _message_name(contract: EventContract) -> str:
    return f"{contract.publisher}.{contract.event_type}.v{contract.version}"


def _channel(contract: EventContract) -> dict:
    exchange = {"name": contract.exchange, "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"}
    description = f"{contract.summary} Published by {contract.publisher}; consumed by {', '.join(contract.consumers) or 'no service yet'}."
    binding = {"is": "routingKey", "exchange": exchange, "bindingVersion": "0.3.0"}
    channel = {
        "description": description,
        "bindings": {"amqp": binding},
        "subscribe": {
            "operationId": f"{contract.publisher}_{contract.event_type}_v{contract.version}",
            "summary": contract.summary,
            "bindings": {"amqp": {"deliveryMode": 2, "mandatory": contract.staff_tool, "bindingVersion": "0.3.0"}},
            "message": {"$ref": f"#/components/messages/{_message_name(contract)}"},
        },
    }
    if contract.staff_tool:
        queues = ", ".join(f"`{contract.queue_name(c)}`" for c in contract.consumers)
        channel["description"] += (
            f" Queues {queues} dead-letter to `{DEAD_LETTER_EXCHANGE}` → `{DEAD_LETTER_QUEUE}`."
        )
    return channel


def build_document() -> dict:
    contracts = all_contracts()
    return {
        "asyncapi": "2.6.0",
        "info": {
            "title": "Samen events",
            "version": "1.0.0",
            "description": (
                "Events that cross a service boundary in Samen. Services publish from their outbox to nameko's "
                f"`<service>.events` topic exchange with the event type as routing key. Staff tools publish to the "
                f"durable topic exchange `{STAFF_TOOLS_EXCHANGE}` with `<tool>.<event_type>`, set `user_id` to their "
                "broker user and name the acting staff member in `actor_account_number`. Generated by "
                "`python -m samen_devtools.asyncapi`; do not edit by hand."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "rabbitmq": {"url": "127.0.0.1:5672", "protocol": "amqp", "protocolVersion": "0.9.1",
                         "description": "Local RabbitMQ; production points SAMEN_AMQP_URI elsewhere."},
        },
        "channels": {f"{c.exchange}/{c.routing_key}" + ("" if c.version == 1 else f"/v{c.version}"): _channel(c)
                     for c in contracts},
        "components": {
            "messages": {
                _message_name(c): {
                    "name": c.event_type,
                    "title": f"{c.event_type} v{c.version}",
                    "summary": c.summary,
                    "contentType": "application/json",
                    "payload": object_schema({**c.envelope, **c.payload_fields}),
                }
                for c in contracts
            },
        },
    }


def render() -> str:
    return yaml.safe_dump(build_document(), sort_keys=False, allow_unicode=True, width=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the AsyncAPI document of Samen's events from the contracts.")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="file to write (default docs/events.asyncapi.yaml)")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when the file differs")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date; run python -m samen_devtools.asyncapi", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} with {len(build_document()['channels'])} channels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
