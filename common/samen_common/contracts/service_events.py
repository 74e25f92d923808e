"""Events that services publish through their outbox to nameko's `<service>.events` exchange.

Each row of the events table in docs/architecture.md has a contract here; the test of the
AsyncAPI document fails when a row has none.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from samen_common.contracts.registry import register


def _id(description: str | None = None, **options) -> fields.UUID:
    options.setdefault("required", True)
    return fields.UUID(metadata={"description": description} if description else {}, **options)


class PlacementFacts(Schema):
    """A placement as requests' `sync_placements` reads it."""

    id = _id()
    child_id = _id()
    group_id = _id()
    care_type = fields.String(required=True)
    weekdays = fields.List(fields.Integer(validate=validate.Range(min=1, max=7)), required=True)
    dayparts = fields.List(fields.String(), required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True, allow_none=True)


register(
    "password_reset_requested", publisher="accounts", consumers=("notify",),
    summary="A reset link must be mailed to the account. The token is removed from the outbox once published.",
    account_id=_id(),
    expires_at=fields.AwareDateTime(required=True),
    secret_token=fields.String(required=True, metadata={"description": "The single-use reset token for the link."}),
)
register(
    "password_reset_completed", publisher="accounts", consumers=("notify",),
    summary="The password of an account was reset with a reset link.",
    account_id=_id(),
)
register(
    "password_changed", publisher="accounts", consumers=("notify",),
    summary="An account holder changed their password.",
    account_id=_id(),
)
register(
    "account_language_changed", publisher="accounts", consumers=("notify",),
    summary="An account holder chose another language.",
    account_id=_id(),
    language=fields.String(required=True, validate=validate.OneOf(("nl", "en"))),
)
register(
    "placement_changed", publisher="accounts", consumers=("requests",),
    summary="A placement was created or changed by the planning system (enrolment or change).",
    placement=fields.Nested(PlacementFacts, required=True),
    organisation_id=_id(),
)
register(
    "child_consent_changed", publisher="accounts", consumers=("media", "messaging"),
    summary="A child's photo consent changed; photos of the child must be checked again.",
    child_id=_id(),
    organisation_id=_id(),
    photo_consent=fields.Boolean(required=True, metadata={"description": "Consent now: no guardian refused and at least one granted."}),
    recorded_by=_id("Guardian who gave or withdrew consent."),
)
register(
    "care_ended", publisher="accounts", consumers=("requests", "media", "messaging"),
    summary="A child's care ends after end_date; consent ends with it.",
    child_id=_id(),
    organisation_id=_id(),
    end_date=fields.Date(required=True),
)
register(
    "guardian_added", publisher="accounts", consumers=("messaging", "notify"),
    summary="A guardian account got access to a child.",
    child_id=_id(),
    guardian_id=_id(),
    organisation_id=_id(),
)
register(
    "guardian_removed", publisher="accounts", consumers=("messaging", "notify"),
    summary="A guardian account lost access to a child.",
    child_id=_id(),
    guardian_id=_id(),
    organisation_id=_id(),
)
register(
    "child_checked_in", publisher="accounts", consumers=("requests", "messaging"),
    summary="A child arrived at the group, recorded from the kiosk.",
    attendance_id=_id(),
    child_id=_id(),
    group_id=_id(),
    at=fields.AwareDateTime(required=True),
    recorded_by=_id("Staff member who checked the child in."),
)
register(
    "child_checked_out", publisher="accounts", consumers=("requests", "messaging"),
    summary="A child went home; collected_by names who collected the child.",
    attendance_id=_id(),
    child_id=_id(),
    group_id=_id(),
    at=fields.AwareDateTime(required=True),
    recorded_by=_id("Staff member who checked the child out."),
    collected_by=fields.String(required=True),
)
