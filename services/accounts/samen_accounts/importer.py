"""Import an organisation from the planning system's JSON export.

The format is documented in docs/import-format.md. Every record carries a stable `ref` from the
planning system, so importing the same file again updates records instead of duplicating them.

    samen-accounts-import export.json
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from samen_accounts.models import (
    Account,
    Child,
    Group,
    Guardianship,
    Location,
    Organisation,
    Placement,
    StaffGroup,
    StaffRoleAssignment,
)
from samen_accounts.security import hash_password
from samen_common.auth import AccountKind, StaffRole
from samen_common.db import make_engine
from samen_common.settings import common_settings, database_url

CARE_TYPES = {"daycare", "before_school", "after_school", "holiday_care"}
DAYPARTS = {"morning", "afternoon", "whole_day", "before_school", "after_school", "holiday"}


class ImportError_(ValueError):
    """The export is invalid; the message names the record and field."""


def _upsert(session: Session, model, ref_field: str, ref: str, **values):
    row = session.scalars(select(model).where(getattr(model, ref_field) == ref)).first()
    if row is None:
        row = model(**{ref_field: ref}, **values)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    session.flush()
    return row


def _require(record: dict, field: str, where: str):
    if field not in record or record[field] in (None, ""):
        raise ImportError_(f"{where}: field {field!r} is missing")
    return record[field]


def import_organisation(session: Session, data: dict, *, allow_passwords: bool = False) -> dict:
    """Create or update everything in `data` in one transaction; return counts per kind."""
    org_data = _require(data, "organisation", "export")
    organisation = _upsert(
        session, Organisation, "external_ref", _require(org_data, "ref", "organisation"),
        name=_require(org_data, "name", "organisation"), settings=org_data.get("settings", {}),
    )
    hashes: dict[str, str] = {}

    def password_hash(record: dict, where: str) -> str | None:
        password = record.get("password")
        if password is None:
            return None
        if not allow_passwords:
            raise ImportError_(f"{where}: passwords can only be imported in development mode")
        if password not in hashes:
            hashes[password] = hash_password(password)
        return hashes[password]

    locations = {}
    for record in data.get("locations", []):
        ref = _require(record, "ref", "location")
        locations[ref] = _upsert(
            session, Location, "external_ref", ref, organisation_id=organisation.id,
            name=_require(record, "name", f"location {ref}"), address=record.get("address"),
            phone=record.get("phone"), opening_hours=record.get("opening_hours", {}),
        )

    groups = {}
    for record in data.get("groups", []):
        ref = _require(record, "ref", "group")
        location_ref = _require(record, "location", f"group {ref}")
        if location_ref not in locations:
            raise ImportError_(f"group {ref}: unknown location {location_ref!r}")
        care_type = _require(record, "care_type", f"group {ref}")
        if care_type not in CARE_TYPES:
            raise ImportError_(f"group {ref}: care_type must be one of {sorted(CARE_TYPES)}")
        groups[ref] = _upsert(
            session, Group, "external_ref", ref, location_id=locations[location_ref].id,
            name=_require(record, "name", f"group {ref}"), care_type=care_type,
            max_size=int(_require(record, "max_size", f"group {ref}")),
        )

    children = {}
    for record in data.get("children", []):
        ref = _require(record, "ref", "child")
        children[ref] = _upsert(
            session, Child, "external_ref", ref, organisation_id=organisation.id,
            first_name=_require(record, "first_name", f"child {ref}"),
            last_name=_require(record, "last_name", f"child {ref}"),
            birth_date=date.fromisoformat(_require(record, "birth_date", f"child {ref}")),
            photo_consent=bool(record.get("photo_consent", False)),
            care_ended_on=date.fromisoformat(record["care_ended_on"]) if record.get("care_ended_on") else None,
        )

    guardian_count = 0
    for record in data.get("guardians", []):
        number = str(_require(record, "account_number", "guardian"))
        guardian = _upsert(
            session, Account, "account_number", number, organisation_id=organisation.id,
            kind=AccountKind.GUARDIAN.value, display_name=_require(record, "name", f"guardian {number}"),
            email=record.get("email"), language=record.get("language", "nl"),
        )
        new_hash = password_hash(record, f"guardian {number}")
        if new_hash:
            guardian.password_hash = new_hash
        session.execute(delete(Guardianship).where(Guardianship.guardian_id == guardian.id))
        for child_ref in record.get("children", []):
            if child_ref not in children:
                raise ImportError_(f"guardian {number}: unknown child {child_ref!r}")
            session.add(Guardianship(guardian_id=guardian.id, child_id=children[child_ref].id))
        guardian_count += 1

    staff_count = 0
    for record in data.get("staff", []):
        number = str(_require(record, "account_number", "staff"))
        staff = _upsert(
            session, Account, "account_number", number, organisation_id=organisation.id,
            kind=AccountKind.STAFF.value, display_name=_require(record, "name", f"staff {number}"),
            email=record.get("email"), language=record.get("language", "nl"),
        )
        new_hash = password_hash(record, f"staff {number}")
        if new_hash:
            staff.password_hash = new_hash
        session.execute(delete(StaffRoleAssignment).where(StaffRoleAssignment.staff_id == staff.id))
        session.execute(delete(StaffGroup).where(StaffGroup.staff_id == staff.id))
        for role in record.get("roles", [{"role": "pedagogical"}]):
            role_name = _require(role, "role", f"staff {number} role")
            if role_name not in {r.value for r in StaffRole}:
                raise ImportError_(f"staff {number}: unknown role {role_name!r}")
            location_ref = role.get("location")
            if location_ref is not None and location_ref not in locations:
                raise ImportError_(f"staff {number}: unknown location {location_ref!r}")
            session.add(
                StaffRoleAssignment(
                    staff_id=staff.id, role=role_name,
                    location_id=locations[location_ref].id if location_ref else None,
                )
            )
        for group_ref in record.get("groups", []):
            if group_ref not in groups:
                raise ImportError_(f"staff {number}: unknown group {group_ref!r}")
            session.add(StaffGroup(staff_id=staff.id, group_id=groups[group_ref].id))
        staff_count += 1

    placement_count = 0
    for record in data.get("placements", []):
        ref = _require(record, "ref", "placement")
        child_ref = _require(record, "child", f"placement {ref}")
        group_ref = _require(record, "group", f"placement {ref}")
        if child_ref not in children or group_ref not in groups:
            raise ImportError_(f"placement {ref}: unknown child or group")
        weekdays = [int(day) for day in _require(record, "weekdays", f"placement {ref}")]
        if not weekdays or any(day < 1 or day > 7 for day in weekdays):
            raise ImportError_(f"placement {ref}: weekdays must be ISO weekdays 1 (Monday) to 7")
        dayparts = list(record.get("dayparts", ["whole_day"]))
        if any(part not in DAYPARTS for part in dayparts):
            raise ImportError_(f"placement {ref}: dayparts must be among {sorted(DAYPARTS)}")
        _upsert(
            session, Placement, "external_ref", ref, child_id=children[child_ref].id,
            group_id=groups[group_ref].id, care_type=record.get("care_type", groups[group_ref].care_type),
            weekdays=weekdays, dayparts=dayparts, start_date=date.fromisoformat(_require(record, "start", f"placement {ref}")),
            end_date=date.fromisoformat(record["end"]) if record.get("end") else None,
        )
        placement_count += 1

    return {
        "locations": len(locations), "groups": len(groups), "children": len(children),
        "guardians": guardian_count, "staff": staff_count, "placements": placement_count,
    }


def import_file(path: Path, *, url: str | None = None) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    engine = make_engine(url or database_url("accounts"), pool_size=1)
    try:
        with Session(engine) as session, session.begin():
            return import_organisation(session, data, allow_passwords=common_settings().is_development)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Import an organisation export (JSON) into the accounts database.")
    parser.add_argument("file", type=Path, help="path of the JSON export")
    args = parser.parse_args(argv)
    try:
        counts = import_file(args.file)
    except (ImportError_, ValueError, KeyError) as exc:
        print(f"import failed: {exc}", file=sys.stderr)
        return 1
    print("imported " + ", ".join(f"{count} {kind}" for kind, count in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
