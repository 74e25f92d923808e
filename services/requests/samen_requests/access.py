"""Permission checks against the caller's access scope from accounts.

Unknown ids and ids outside the caller's scope both raise NotFound.
"""

from __future__ import annotations

import uuid

from samen_common.auth import LOCATION_WIDE_ROLES, Caller, StaffRole
from samen_common.errors import NotFound


def guardian_child(accounts, caller: Caller, child_id: uuid.UUID) -> dict:
    """Return the guardian's view of one of their children, or raise NotFound."""
    caller.require_guardian()
    scope = accounts.access_scope()
    for child in scope.get("children", []):
        if child["id"] == str(child_id):
            return child
    raise NotFound()


def staff_scope(accounts, caller: Caller) -> dict:
    caller.require_staff()
    return accounts.access_scope()


def require_group(scope: dict, group_id: uuid.UUID) -> None:
    """Require that the staff member may act on the group (works in it or manages its location)."""
    if str(group_id) not in scope.get("group_ids", []):
        raise NotFound()


def require_location_manager(scope: dict, location_id: uuid.UUID) -> None:
    """Require a coordinator, unit manager or admin of the location."""
    if not set(scope.get("roles", [])) & LOCATION_WIDE_ROLES:
        raise NotFound()
    if not scope.get("organisation_wide") and str(location_id) not in scope.get("managed_location_ids", []):
        raise NotFound()


def require_admin(caller: Caller) -> None:
    caller.require_staff()
    if not caller.has_role(StaffRole.ADMIN):
        raise NotFound()
