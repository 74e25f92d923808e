"""The contract type, the registry and the broker names shared by publishers and consumers."""

from __future__ import annotations

from dataclasses import dataclass, field

from marshmallow import Schema, ValidationError, fields, validate

STAFF_TOOLS_EXCHANGE = "samen.staff-tools"
"""Durable topic exchange that staff tools and the planning system publish to."""
DEAD_LETTER_EXCHANGE = "samen.dlx"
"""Fanout exchange that receives every staff-tool event a consumer rejects."""
DEAD_LETTER_QUEUE = "samen.dead-letters"
"""Durable queue bound to the dead-letter exchange, read by operations."""


@dataclass(frozen=True)
class EventContract:
    """One version of one event: where it travels, who sends and reads it, and its payload."""

    event_type: str
    version: int
    summary: str
    publisher: str
    """A service name (`accounts`) or a staff tool (`planning`, `kiosk`, `coordinator`)."""
    consumers: tuple[str, ...]
    payload_fields: dict[str, fields.Field]
    staff_tool: bool = False
    envelope: dict[str, fields.Field] = field(default_factory=dict, repr=False)

    @property
    def exchange(self) -> str:
        return STAFF_TOOLS_EXCHANGE if self.staff_tool else f"{self.publisher}.events"

    @property
    def routing_key(self) -> str:
        """`<tool>.<event_type>` on the staff-tool exchange, the bare event type on nameko's."""
        return f"{self.publisher}.{self.event_type}" if self.staff_tool else self.event_type

    def queue_name(self, consumer: str) -> str:
        """Return the durable queue of one consuming service for this staff-tool event."""
        return f"{consumer}.staff-tools.{self.event_type}"

    def schema(self) -> Schema:
        """Return a fresh schema instance of envelope plus payload; unknown keys are invalid."""
        declared = {**self.envelope, **self.payload_fields}
        schema_class = Schema.from_dict(declared, name=f"{_camel(self.event_type)}V{self.version}")
        return schema_class()

    def load(self, payload: object) -> dict:
        """Validate `payload` and return it with dates, times and ids as Python objects.

        Raises marshmallow's ValidationError with the messages per field.
        """
        if not isinstance(payload, dict):
            raise ValidationError({"_schema": ["payload must be a JSON object"]})
        return self.schema().load(payload)

    def dump(self, data: dict) -> dict:
        """Return `data` as the JSON-ready payload this contract describes."""
        return self.schema().dump(data)


def envelope_fields(event_type: str, version: int, *, staff_tool: bool) -> dict[str, fields.Field]:
    """Return the fields every event carries; staff-tool events also name the acting staff member."""
    envelope: dict[str, fields.Field] = {
        "event_id": fields.UUID(required=True, metadata={"description": "Unique id; a consumer handles an id once."}),
        "event_type": fields.String(
            required=True, validate=validate.Equal(event_type), metadata={"description": "Always `" + event_type + "`."}
        ),
        "schema_version": fields.Integer(
            required=True, validate=validate.Equal(version), metadata={"description": "Version of this contract."}
        ),
        "occurred_at": fields.AwareDateTime(
            required=True,
            metadata={"description": "When the fact happened, ISO 8601 with a time zone; orders changes of one record."},
        ),
    }
    if staff_tool:
        envelope["actor_account_number"] = fields.String(
            required=True,
            validate=validate.Length(min=1, max=20),
            metadata={"description": "Account number of the staff member on whose behalf the tool sends the event."},
        )
    return envelope


_contracts: dict[tuple[str, str, int], EventContract] = {}


def register(
    event_type: str,
    *,
    version: int = 1,
    summary: str,
    publisher: str,
    consumers: tuple[str, ...] = (),
    staff_tool: bool = False,
    **payload_fields: fields.Field,
) -> EventContract:
    """Register one version of an event contract and return it."""
    key = (publisher, event_type, version)
    if key in _contracts:
        raise ValueError(f"contract {publisher}.{event_type} v{version} is registered twice")
    contract = EventContract(
        event_type=event_type, version=version, summary=summary, publisher=publisher, consumers=consumers,
        payload_fields=payload_fields, staff_tool=staff_tool,
        envelope=envelope_fields(event_type, version, staff_tool=staff_tool),
    )
    _contracts[key] = contract
    return contract


def all_contracts() -> list[EventContract]:
    return sorted(_contracts.values(), key=lambda c: (not c.staff_tool, c.publisher, c.event_type, c.version))


def staff_contracts() -> list[EventContract]:
    return [contract for contract in all_contracts() if contract.staff_tool]


def staff_contract(event_type: str, version: int | None = None) -> EventContract:
    """Return the staff-tool contract of `event_type` (the newest version unless `version` is given)."""
    matches = [c for c in staff_contracts() if c.event_type == event_type and version in (None, c.version)]
    if not matches:
        raise KeyError(f"no staff-tool contract for {event_type!r} version {version}")
    return max(matches, key=lambda c: c.version)


def service_contract(publisher: str, event_type: str, version: int = 1) -> EventContract:
    return _contracts[(publisher, event_type, version)]


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
