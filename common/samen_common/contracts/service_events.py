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
    "placement_changed", publisher="accounts", consumers=("requests", "messaging"),
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


def _ids(description: str | None = None) -> fields.List:
    return fields.List(fields.UUID(), required=True, metadata={"description": description} if description else {})


register(
    "photo_uploaded", publisher="media", consumers=("media",),
    summary="A photo was stored and waits for processing; media consumes it itself.",
    photo_id=_id(),
)
register(
    "photo_published", publisher="media", consumers=("messaging", "notify"),
    summary="A processed photo with tagged children became visible to their guardians (consent permitting).",
    photo_id=_id(),
    child_ids=_ids("Tagged children."),
    group_id=_id(),
    location_id=_id(),
    taken_at=fields.AwareDateTime(required=True),
    published_at=fields.AwareDateTime(required=True),
    uploaded_by=_id("Staff member who uploaded the photo."),
)
register(
    "photo_retagged", publisher="media", consumers=("messaging",),
    summary="The children tagged on a photo changed.",
    photo_id=_id(),
    child_ids=_ids("Children tagged now."),
    previous_child_ids=_ids("Children tagged before."),
)
register(
    "photo_deleted", publisher="media", consumers=("messaging",),
    summary="A photo was deleted.",
    photo_id=_id(),
    child_ids=_ids("Children that were tagged."),
)


def _request_facts() -> dict[str, fields.Field]:
    """Fields of every request event: ids and facts, nothing about health beyond the kind."""
    optional_date = {"required": True, "allow_none": True}
    return {
        "request_id": _id(),
        "child_id": _id(),
        "group_id": _id(),
        "location_id": _id(),
        "organisation_id": _id(),
        "kind": fields.String(required=True),
        "start_date": fields.Date(**optional_date),
        "end_date": fields.Date(**optional_date),
        "daypart": fields.String(required=True, allow_none=True),
        "given_up_date": fields.Date(**optional_date, metadata={"description": "The contract day given up for a swap day."}),
        "state": fields.String(required=True),
        "reason_code": fields.String(required=True, allow_none=True),
    }


register(
    "absence_reported", publisher="requests", consumers=("messaging", "notify"),
    summary="A guardian reported illness, a holiday or another absence.",
    **_request_facts(),
)
register(
    "illness_ended", publisher="requests", consumers=("messaging", "notify"),
    summary="A child reported ill is better again from back_on.",
    **_request_facts(),
    back_on=fields.Date(required=True),
)
register(
    "request_submitted", publisher="requests", consumers=("notify",),
    summary="A guardian asked for an extra day or a swap day.",
    **_request_facts(),
)
register(
    "request_decided", publisher="requests", consumers=("messaging", "notify"),
    summary="A request was approved or rejected; decided_by is null for an automatic approval.",
    **_request_facts(),
    decided_by=fields.UUID(required=True, allow_none=True),
)
register(
    "closing_day_added", publisher="requests", consumers=("messaging", "notify"),
    summary="A location or one of its groups is closed on a day.",
    closing_day_id=_id(),
    organisation_id=_id(),
    location_id=_id(),
    group_id=fields.UUID(required=True, allow_none=True),
    day=fields.Date(required=True),
    kind=fields.String(required=True),
)

register(
    "message_posted", publisher="messaging", consumers=("notify",),
    summary="A guardian or staff member wrote in a group message thread about a child.",
    message_id=_id(),
    thread_id=_id(),
    child_id=_id(),
    group_id=_id(),
    author_id=_id(),
    author_kind=fields.String(required=True, validate=validate.OneOf(("guardian", "staff"))),
)
register(
    "notebook_entry_added", publisher="messaging", consumers=("notify",),
    summary="Staff or a guardian added a notebook entry for a child.",
    entry_id=_id(),
    child_id=_id(),
    group_id=_id(),
    author_id=_id(),
)
register(
    "news_published", publisher="messaging", consumers=("notify",),
    summary="A news item became visible; empty location_ids and group_ids mean the whole organisation.",
    news_id=_id(),
    organisation_id=_id(),
    location_ids=_ids(),
    group_ids=_ids(),
    published_at=fields.AwareDateTime(required=True),
)
register(
    "document_added", publisher="messaging", consumers=("notify",),
    summary="Staff uploaded an invoice or annual statement for one guardian.",
    document_id=_id(),
    guardian_id=_id(),
    organisation_id=_id(),
    kind=fields.String(required=True, validate=validate.OneOf(("invoice", "annual_statement"))),
)
