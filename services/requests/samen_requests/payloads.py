"""Event payloads of requests, shared by the service and its mixins."""

from __future__ import annotations

from datetime import date

from samen_requests.models import Request


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def event_facts(row: Request) -> dict:
    """Ids and facts of a request for events; nothing about health beyond the kind."""
    return {
        "request_id": str(row.id), "child_id": str(row.child_id), "group_id": str(row.group_id),
        "location_id": str(row.location_id), "organisation_id": str(row.organisation_id), "kind": row.kind,
        "start_date": _iso(row.start_date), "end_date": _iso(row.end_date), "daypart": row.daypart,
        "given_up_date": _iso(row.given_up_date), "state": row.state, "reason_code": row.reason_code,
    }
