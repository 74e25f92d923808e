"""Events that staff tools and the planning system send to the `samen.staff-tools` exchange.

Planning-system events name children, groups and placements by the planning system's own
references (`ref`), the same ones the organisation import uses, and guardians by account number.
Kiosk and coordinator events name Samen's ids, which the staff app shows.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from samen_common.contracts.registry import register

CARE_TYPES = ("daycare", "before_school", "after_school", "holiday_care")
DAYPARTS = ("morning", "afternoon", "whole_day", "before_school", "after_school", "holiday")
LANGUAGES = ("nl", "en")


def _ref(description: str) -> fields.String:
    return fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={"description": description})


class GuardianRecord(Schema):
    account_number = fields.String(
        required=True, validate=validate.Regexp(r"^[0-9A-Za-z-]{1,20}$"),
        metadata={"description": "Login number of the guardian; a new number creates the account."},
    )
    name = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={"description": "Full name."})
    email = fields.Email(load_default=None, allow_none=True, metadata={"description": "E-mail address for notifications and password reset."})
    language = fields.String(load_default="nl", validate=validate.OneOf(LANGUAGES), metadata={"description": "Language of texts: nl or en."})
    relation = fields.String(load_default="parent", validate=validate.Length(min=1, max=30), metadata={"description": "Relation to the child, such as parent or foster_parent."})


class ChildRecord(Schema):
    ref = _ref("Planning-system reference of the child.")
    first_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    last_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    birth_date = fields.Date(required=True, metadata={"description": "ISO date."})


class PlacementRecord(Schema):
    ref = _ref("Planning-system reference of the placement.")
    group = _ref("Planning-system reference of the group.")
    care_type = fields.String(required=True, validate=validate.OneOf(CARE_TYPES))
    weekdays = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=7)), required=True, validate=validate.Length(min=1, max=7),
        metadata={"description": "Contract weekdays, ISO numbering: 1 is Monday."},
    )
    dayparts = fields.List(fields.String(validate=validate.OneOf(DAYPARTS)), required=True, validate=validate.Length(min=1))
    start = fields.Date(required=True, metadata={"description": "First day of the placement."})
    end = fields.Date(load_default=None, allow_none=True, metadata={"description": "Last day of the placement, or null when open-ended."})


class ChangedPlacementRecord(PlacementRecord):
    child = _ref("Planning-system reference of the child.")


PLANNING_CONSUMERS = ("accounts",)

register(
    "child_enrolled", publisher="planning", staff_tool=True, consumers=PLANNING_CONSUMERS,
    summary="A child starts care: the child, their guardians and the first placement. Sending it again updates them.",
    child=fields.Nested(ChildRecord, required=True),
    guardians=fields.List(fields.Nested(GuardianRecord), required=True, validate=validate.Length(min=1, max=10)),
    placement=fields.Nested(PlacementRecord, required=True),
)
register(
    "placement_changed", publisher="planning", staff_tool=True, consumers=PLANNING_CONSUMERS,
    summary="A placement is created or changed: group, care type, weekdays, dayparts or dates.",
    placement=fields.Nested(ChangedPlacementRecord, required=True),
)
register(
    "care_ended", publisher="planning", staff_tool=True, consumers=PLANNING_CONSUMERS,
    summary="A child's care ends; access to new content and photo consent end after the end date.",
    child=_ref("Planning-system reference of the child."),
    end_date=fields.Date(required=True, metadata={"description": "Last day of care."}),
)
register(
    "guardian_added", publisher="planning", staff_tool=True, consumers=PLANNING_CONSUMERS,
    summary="A guardian gets access to a child; a new account number creates the guardian's account.",
    child=_ref("Planning-system reference of the child."),
    guardian=fields.Nested(GuardianRecord, required=True),
)
register(
    "guardian_removed", publisher="planning", staff_tool=True, consumers=PLANNING_CONSUMERS,
    summary="A guardian loses access to a child. The account stays for the guardian's other children.",
    child=_ref("Planning-system reference of the child."),
    guardian_account_number=fields.String(required=True, validate=validate.Length(min=1, max=20)),
)
register(
    "photo_consent_recorded", publisher="planning", staff_tool=True, consumers=PLANNING_CONSUMERS,
    summary="A guardian granted or withdrew photo consent for a child. A refusal by any guardian wins.",
    child=_ref("Planning-system reference of the child."),
    guardian_account_number=fields.String(
        required=True, validate=validate.Length(min=1, max=20),
        metadata={"description": "The guardian with parental authority who gave or withdrew consent."},
    ),
    granted=fields.Boolean(required=True, metadata={"description": "True when consent is given, false when withdrawn."}),
)

KIOSK_CONSUMERS = ("accounts",)

register(
    "child_checked_in", publisher="kiosk", staff_tool=True, consumers=KIOSK_CONSUMERS,
    summary="A child arrived at the group.",
    child_id=fields.UUID(required=True),
    group_id=fields.UUID(required=True, metadata={"description": "The group the child is placed in that day."}),
    at=fields.AwareDateTime(required=True, metadata={"description": "Arrival time with a time zone."}),
)
register(
    "child_checked_out", publisher="kiosk", staff_tool=True, consumers=KIOSK_CONSUMERS,
    summary="A child went home, and who collected the child.",
    child_id=fields.UUID(required=True),
    group_id=fields.UUID(required=True),
    at=fields.AwareDateTime(required=True, metadata={"description": "Departure time with a time zone."}),
    collected_by=fields.String(
        required=True, validate=validate.Length(min=1, max=200),
        metadata={"description": "Name of the person who collected the child, as the staff member saw it."},
    ),
)

register(
    "news_published", publisher="coordinator", staff_tool=True, consumers=("messaging",),
    summary="A coordinator publishes news for the organisation, some locations or some groups.",
    title=fields.String(required=True, validate=validate.Length(min=1, max=200)),
    body=fields.String(required=True, validate=validate.Length(min=1, max=20000)),
    kind=fields.String(load_default="item", validate=validate.OneOf(("item", "newsletter"))),
    location_ids=fields.List(fields.UUID(), load_default=list, metadata={"description": "Empty with empty group_ids: the whole organisation."}),
    group_ids=fields.List(fields.UUID(), load_default=list),
    publish_at=fields.AwareDateTime(load_default=None, allow_none=True, metadata={"description": "Publish later, or null for now."}),
)
register(
    "closing_day_added", publisher="coordinator", staff_tool=True, consumers=("requests",),
    summary="A location, or one group of it, is closed on a day; no requests are possible then.",
    location_id=fields.UUID(required=True),
    group_id=fields.UUID(load_default=None, allow_none=True, metadata={"description": "Only this group closes, or null for the whole location."}),
    day=fields.Date(required=True),
    kind=fields.String(load_default="planned", validate=validate.OneOf(("planned", "ad_hoc"))),
    name_nl=fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200)),
    name_en=fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200)),
)
