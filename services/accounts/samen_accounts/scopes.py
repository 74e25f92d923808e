"""Access scopes: the children a guardian may see, the groups a staff member may act on."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Row
from sqlalchemy.orm import Session

from samen_accounts import queries
from samen_common.auth import LOCATION_WIDE_ROLES, StaffRole


def guardian_scope(session: Session, guardian_id: uuid.UUID, today: date) -> dict:
    """Return the guardian's children with their current group, location and photo consent.

    A child whose care ended stays listed (parents keep their history) but loses photo consent.
    """
    result = []
    for child in queries.children_of_guardian_with_groups(session, guardian_id, today):
        ended = child.care_ended_on is not None and child.care_ended_on < today
        result.append(
            {
                "id": str(child.id),
                "first_name": child.first_name,
                "last_name": child.last_name,
                "birth_date": child.birth_date.isoformat(),
                "photo_consent": bool(child.photo_consent) and not ended,
                "care_active": not ended,
                "group_id": str(child.group_id) if child.group_id else None,
                "group_name": child.group_name,
                "location_id": str(child.location_id) if child.location_id else None,
                "location_name": child.location_name,
            }
        )
    return {"kind": "guardian", "account_id": str(guardian_id), "children": result}


def staff_scope(session: Session, account: Row, today: date) -> dict:
    """Return a staff member's roles and the groups they may act on.

    Pedagogical staff act on the groups they work in. Coordinators and unit managers act on
    every group of their locations, and an organisation-wide assignment (no location) or the
    admin role covers every location.
    """
    assignments = queries.staff_roles(session, account.id)
    roles = sorted({a.role for a in assignments})
    own_groups = set(queries.staff_group_ids(session, account.id))

    wide = [a for a in assignments if a.role in LOCATION_WIDE_ROLES]
    organisation_wide = any(a.location_id is None or a.role == StaffRole.ADMIN for a in wide)
    if organisation_wide:
        location_ids = set(queries.all_location_ids(session, account.organisation_id))
    else:
        location_ids = {a.location_id for a in wide if a.location_id is not None}
    managed_groups = set(queries.groups_of_locations(session, location_ids)) if location_ids else set()

    all_groups = own_groups | managed_groups
    details = {
        group.id: (group, location) for group, location in queries.groups_with_locations(session, all_groups)
    }
    return {
        "kind": "staff",
        "account_id": str(account.id),
        "organisation_id": str(account.organisation_id),
        "roles": roles,
        "group_ids": sorted(str(g) for g in all_groups),
        "own_group_ids": sorted(str(g) for g in own_groups),
        "managed_location_ids": sorted(str(loc) for loc in location_ids),
        "organisation_wide": organisation_wide,
        "groups": [
            {
                "id": str(group.id),
                "name": group.name,
                "location_id": str(location.id),
                "location_name": location.name,
                "works_here": group.id in own_groups,
            }
            for group, location in sorted(details.values(), key=lambda pair: (pair[1].name, pair[0].name))
        ],
    }
