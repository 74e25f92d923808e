"""Access checks against the caller's scope from accounts.

Every check raises NotFound for ids the caller may not see, so an unknown id and another
family's id look the same.
"""

from __future__ import annotations

import uuid

from samen_common.auth import LOCATION_WIDE_ROLES, Caller
from samen_common.errors import Forbidden, NotFound


def parse_id(value) -> uuid.UUID:
    """Parse an id from a request; a malformed id is as unknown as a missing one."""
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        raise NotFound() from None


def guardian_child(scope: dict, child_id: str) -> dict:
    """Return the guardian's child from the scope, or raise NotFound."""
    for child in scope.get("children", []):
        if child["id"] == str(child_id):
            return child
    raise NotFound()


def staff_may_act_on_group(scope: dict, group_id) -> bool:
    return group_id is not None and str(group_id) in set(scope.get("group_ids", []))


def require_staff_group(scope: dict, group_id) -> None:
    if scope.get("kind") != "staff" or not staff_may_act_on_group(scope, group_id):
        raise NotFound()


def require_news_audience(caller: Caller, scope: dict, location_ids: list[str], group_ids: list[str]) -> None:
    """Check that a staff member may post news to this audience.

    Groups need the member to act on each group (their own, or one of a managed location).
    Locations need a location-wide role on each location, and the whole organisation (no
    location and no group) needs an organisation-wide assignment.
    """
    if scope.get("kind") != "staff":
        raise NotFound()
    for group_id in group_ids:
        require_staff_group(scope, group_id)
    if group_ids and not location_ids:
        return
    if not caller.has_role(*LOCATION_WIDE_ROLES):
        raise Forbidden("news_role_required")
    if not location_ids:
        if not scope.get("organisation_wide"):
            raise Forbidden("news_role_required")
        return
    managed = set(scope.get("managed_location_ids", []))
    for location_id in location_ids:
        if str(location_id) not in managed:
            raise NotFound()
