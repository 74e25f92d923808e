"""Versioned contracts of every event that crosses a service boundary.

A contract names the event, its schema version, the exchange and routing key it travels on,
who publishes it and who consumes it, and a marshmallow schema of its payload. Services validate
staff-tool events against these schemas before a handler runs (`samen_common.staff_consumer`),
the `samen-staff` tool validates before it publishes, and `python -m samen_devtools.asyncapi`
writes `docs/events.asyncapi.yaml` from them.
"""

from __future__ import annotations

from samen_common.contracts.registry import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    STAFF_TOOLS_EXCHANGE,
    EventContract,
    all_contracts,
    service_contract,
    staff_contract,
    staff_contracts,
)

# Importing the modules registers their contracts.
from samen_common.contracts import service_events, staff_events  # noqa: E402,F401

__all__ = [
    "DEAD_LETTER_EXCHANGE",
    "DEAD_LETTER_QUEUE",
    "STAFF_TOOLS_EXCHANGE",
    "EventContract",
    "all_contracts",
    "service_contract",
    "staff_contract",
    "staff_contracts",
]
