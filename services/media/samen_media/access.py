"""Who may tag, see and download a photo, decided from the caller's scope and consent now.

A guardian sees a ready photo when at least one of their own children is tagged and every tagged
child has photo consent at this moment. Staff see every photo of the groups in their scope,
blocked ones marked as such. Everyone else gets NotFound, the same answer as for an unknown id.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from samen_common.auth import LOCATION_WIDE_ROLES
from samen_media.models import Photo, PhotoStatus


class Refusal(enum.StrEnum):
    UNKNOWN = "unknown"
    """No photo or child with this id exists (or it is deleted)."""
    NOT_TAGGED = "not_tagged"
    """None of the guardian's own children is tagged on the photo."""
    NO_CONSENT = "no_consent"
    """A tagged child has no photo consent now."""
    NOT_READY = "not_ready"
    """The photo is still being processed or failed."""
    OUT_OF_SCOPE = "out_of_scope"
    """The staff member works in none of the photo's or child's groups."""


@dataclass(frozen=True)
class Decision:
    visible: bool
    blocked_child_ids: tuple[str, ...] = ()
    refusal: Refusal | None = None

    @property
    def blocked(self) -> bool:
        return bool(self.blocked_child_ids)


def tag_group_ids(scope: dict) -> set[str]:
    """Return the groups whose children a staff member may tag.

    Pedagogical staff tag children of the groups they work in; coordinators, unit managers and
    admins tag children of every group of the locations they manage.
    """
    if LOCATION_WIDE_ROLES.intersection(scope.get("roles") or []):
        return set(scope.get("group_ids") or [])
    return set(scope.get("own_group_ids") or [])


def guardian_child_ids(scope: dict) -> set[str]:
    return {child["id"] for child in scope.get("children") or []}


def blocked_children(tagged_child_ids: list[str], consent: dict[str, bool]) -> tuple[str, ...]:
    """Return the tagged children without consent now; a child missing from `consent` has none."""
    return tuple(child for child in tagged_child_ids if not consent.get(child, False))


def decide_for_guardian(
    photo: Photo | None, tagged_child_ids: list[str], own_child_ids: set[str], consent: dict[str, bool]
) -> Decision:
    if photo is None or photo.status == PhotoStatus.DELETED:
        return Decision(False, refusal=Refusal.UNKNOWN)
    if not own_child_ids.intersection(tagged_child_ids):
        return Decision(False, refusal=Refusal.NOT_TAGGED)
    if photo.status != PhotoStatus.READY:
        return Decision(False, refusal=Refusal.NOT_READY)
    blocked = blocked_children(tagged_child_ids, consent)
    if blocked:
        return Decision(False, blocked_child_ids=blocked, refusal=Refusal.NO_CONSENT)
    return Decision(True)


def decide_for_staff(
    photo: Photo | None, tagged_child_ids: list[str], scope_group_ids: set[str], consent: dict[str, bool]
) -> Decision:
    if photo is None or photo.status == PhotoStatus.DELETED:
        return Decision(False, refusal=Refusal.UNKNOWN)
    if str(photo.group_id) not in scope_group_ids:
        return Decision(False, refusal=Refusal.OUT_OF_SCOPE)
    return Decision(True, blocked_child_ids=blocked_children(tagged_child_ids, consent))


def parse_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None
