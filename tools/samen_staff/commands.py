"""The commands of samen-staff: their options and how option values become an event payload."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Option:
    name: str
    """Option name without dashes, with underscores; also the CSV column name."""
    help_key: str
    kind: str = "text"
    """`text`, `list` (comma-separated), `integers` (comma-separated), `guardians` or `yes_no`."""
    required: bool = False


@dataclass(frozen=True)
class Command:
    name: str
    event_type: str
    options: tuple[Option, ...]
    build: Callable[[dict], dict] = field(repr=False)


def _integers(value):
    result = []
    for part in value:
        try:
            result.append(int(part))
        except ValueError:
            result.append(part)
    return result


def parse_value(option: Option, raw):
    """Turn the raw text of an option (or a CSV cell) into its JSON value; None for an empty value."""
    if raw is None or raw == "" or raw == []:
        return None
    if option.kind == "guardians":
        items = raw if isinstance(raw, list) else str(raw).split("|")
        return [parse_guardian(item) for item in items if item.strip()]
    if option.kind in ("list", "integers"):
        parts = [part.strip() for part in str(raw).split(",") if part.strip()]
        return _integers(parts) if option.kind == "integers" else parts
    if option.kind == "yes_no":
        lowered = str(raw).strip().lower()
        if lowered in ("yes", "ja", "true", "1"):
            return True
        if lowered in ("no", "nee", "false", "0"):
            return False
        return str(raw)
    return str(raw).strip()


def parse_guardian(text: str) -> dict:
    """Parse `ACCOUNT_NUMBER:NAME[:EMAIL[:LANGUAGE]]` into a guardian record."""
    parts = [part.strip() for part in text.split(":")]
    record = {"account_number": parts[0], "name": parts[1] if len(parts) > 1 else ""}
    if len(parts) > 2 and parts[2]:
        record["email"] = parts[2]
    if len(parts) > 3 and parts[3]:
        record["language"] = parts[3]
    return record


def _drop_none(values: dict) -> dict:
    return {key: value for key, value in values.items() if value is not None}


def _placement(values: dict) -> dict:
    return _drop_none({
        "ref": values.get("placement_ref"), "group": values.get("group_ref"), "care_type": values.get("care_type"),
        "weekdays": values.get("weekdays"), "dayparts": values.get("dayparts"), "start": values.get("start"),
        "end": values.get("end"),
    })


PLACEMENT_OPTIONS = (
    Option("placement_ref", "opt.placement_ref", required=True),
    Option("group_ref", "opt.group_ref", required=True),
    Option("care_type", "opt.care_type", required=True),
    Option("weekdays", "opt.weekdays", "integers", required=True),
    Option("dayparts", "opt.dayparts", "list", required=True),
    Option("start", "opt.start", required=True),
    Option("end", "opt.end"),
)

COMMANDS = (
    Command(
        "enrol-child", "child_enrolled",
        (
            Option("child_ref", "opt.child_ref", required=True),
            Option("first_name", "opt.first_name", required=True),
            Option("last_name", "opt.last_name", required=True),
            Option("birth_date", "opt.birth_date", required=True),
            Option("guardian", "opt.guardian", "guardians", required=True),
            *PLACEMENT_OPTIONS,
        ),
        lambda v: {
            "child": _drop_none({"ref": v.get("child_ref"), "first_name": v.get("first_name"),
                                 "last_name": v.get("last_name"), "birth_date": v.get("birth_date")}),
            "guardians": v.get("guardian") or [],
            "placement": _placement(v),
        },
    ),
    Command(
        "change-placement", "placement_changed",
        (Option("child_ref", "opt.child_ref", required=True), *PLACEMENT_OPTIONS),
        lambda v: {"placement": {**_placement(v), **_drop_none({"child": v.get("child_ref")})}},
    ),
    Command(
        "end-care", "care_ended",
        (Option("child_ref", "opt.child_ref", required=True), Option("end_date", "opt.end_date", required=True)),
        lambda v: _drop_none({"child": v.get("child_ref"), "end_date": v.get("end_date")}),
    ),
    Command(
        "add-guardian", "guardian_added",
        (
            Option("child_ref", "opt.child_ref", required=True),
            Option("account_number", "opt.account_number", required=True),
            Option("name", "opt.name", required=True),
            Option("email", "opt.email"),
            Option("language", "opt.language"),
            Option("relation", "opt.relation"),
        ),
        lambda v: _drop_none({
            "child": v.get("child_ref"),
            "guardian": _drop_none({key: v.get(key) for key in ("account_number", "name", "email", "language", "relation")}),
        }),
    ),
    Command(
        "remove-guardian", "guardian_removed",
        (Option("child_ref", "opt.child_ref", required=True), Option("account_number", "opt.account_number", required=True)),
        lambda v: _drop_none({"child": v.get("child_ref"), "guardian_account_number": v.get("account_number")}),
    ),
    Command(
        "record-consent", "photo_consent_recorded",
        (
            Option("child_ref", "opt.child_ref", required=True),
            Option("account_number", "opt.account_number", required=True),
            Option("granted", "opt.granted", "yes_no", required=True),
        ),
        lambda v: _drop_none({"child": v.get("child_ref"), "guardian_account_number": v.get("account_number"),
                              "granted": v.get("granted")}),
    ),
    Command(
        "check-in", "child_checked_in",
        (Option("child_id", "opt.child_id", required=True), Option("group_id", "opt.group_id", required=True),
         Option("at", "opt.at")),
        lambda v: _drop_none({"child_id": v.get("child_id"), "group_id": v.get("group_id"), "at": v.get("at")}),
    ),
    Command(
        "check-out", "child_checked_out",
        (Option("child_id", "opt.child_id", required=True), Option("group_id", "opt.group_id", required=True),
         Option("collected_by", "opt.collected_by", required=True), Option("at", "opt.at")),
        lambda v: _drop_none({"child_id": v.get("child_id"), "group_id": v.get("group_id"), "at": v.get("at"),
                              "collected_by": v.get("collected_by")}),
    ),
    Command(
        "publish-news", "news_published",
        (
            Option("title", "opt.title", required=True),
            Option("body", "opt.body", required=True),
            Option("kind", "opt.kind_news"),
            Option("location_ids", "opt.location_ids", "list"),
            Option("group_ids", "opt.group_ids", "list"),
            Option("publish_at", "opt.publish_at"),
        ),
        lambda v: _drop_none({key: v.get(key) for key in ("title", "body", "kind", "location_ids", "group_ids", "publish_at")}),
    ),
    Command(
        "add-closing-day", "closing_day_added",
        (
            Option("location_id", "opt.location_id", required=True),
            Option("day", "opt.day", required=True),
            Option("group_id", "opt.group_id"),
            Option("kind", "opt.kind_closing"),
            Option("name_nl", "opt.name_nl"),
            Option("name_en", "opt.name_en"),
        ),
        lambda v: _drop_none({key: v.get(key) for key in ("location_id", "day", "group_id", "kind", "name_nl", "name_en")}),
    ),
)

COMMANDS_BY_NAME = {command.name: command for command in COMMANDS}
