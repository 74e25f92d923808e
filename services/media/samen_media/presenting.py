"""Presentation of a photo: to guardians without other families' children, to staff with blocks.

`PhotoPresenter` is a mixin of the media service and uses its `db`, `storage`, `settings` and
`accounts` dependencies. Image URLs are signed for `settings.url_ttl_seconds`.
"""

from __future__ import annotations

from samen_common.auth import Caller
from samen_common.i18n import render_all
from samen_media import imaging, queries
from samen_media.access import decide_for_guardian, decide_for_staff, guardian_child_ids
from samen_media.models import ActivityLabel, Photo, PhotoStatus


class PhotoPresenter:
    """Methods that turn a Photo row into the dict a guardian or staff member receives."""

    def _item_for(self, caller: Caller, scope: dict, photo: Photo, tags, consent) -> dict | None:
        """Present a photo to the caller, or return None when the caller may not see it."""
        tag_strings = [str(t) for t in tags]
        if caller.is_guardian:
            if not decide_for_guardian(photo, tag_strings, guardian_child_ids(scope), consent).visible:
                return None
            return self._guardian_photo(photo, tags, guardian_child_ids(scope))
        if not decide_for_staff(photo, tag_strings, set(scope.get("group_ids") or []), consent).visible:
            return None
        return self._staff_photo(photo, tags, consent)

    def _staff_photos(self, caller: Caller, photos: list[Photo]) -> list[dict]:
        tags = queries.child_tags(self.db, [photo.id for photo in photos])
        consent = self._consent([c for ids in tags.values() for c in ids])
        names = self._blocked_names(tags, consent)
        return [self._staff_photo(photo, tags[photo.id], consent, names=names) for photo in photos]

    def _blocked_names(self, tags: dict, consent: dict) -> dict[str, str]:
        blocked = sorted({str(c) for ids in tags.values() for c in ids if not consent.get(str(c), False)})
        if not blocked:
            return {}
        return {child["id"]: child["first_name"] for child in self.accounts.children(blocked)}

    def _url(self, photo: Photo, variant: str, filename: str | None = None) -> str | None:
        stored = (photo.variants or {}).get(variant)
        if not stored:
            return None
        return self.storage.url_for(stored["key"], self.settings.url_ttl_seconds, filename)

    def _common_fields(self, photo: Photo) -> dict:
        labels = queries.activity_labels_by_ids(self.db, [photo.activity_label_id])
        label = labels.get(photo.activity_label_id)
        return {
            "id": str(photo.id),
            "status": photo.status,
            "group_id": str(photo.group_id),
            "location_id": str(photo.location_id),
            "taken_at": photo.taken_at.isoformat(),
            "published_at": photo.published_at.isoformat() if photo.published_at else None,
            "staff_ids": [str(s) for s in photo.staff_ids or []],
            "activity": label_dict(label) if label else None,
            "activity_text": photo.activity_text,
            "width": (photo.variants or {}).get(imaging.ORIGINAL_VARIANT, {}).get("width"),
            "height": (photo.variants or {}).get(imaging.ORIGINAL_VARIANT, {}).get("height"),
            "thumb_url": self._url(photo, "thumb"),
            "screen_url": self._url(photo, "screen"),
        }

    def _guardian_photo(self, photo: Photo, tags, own_children: set[str]) -> dict:
        """Present a photo to a guardian: other families' children appear only as a count."""
        tag_strings = [str(t) for t in tags]
        item = self._common_fields(photo)
        item["child_ids"] = [child for child in tag_strings if child in own_children]
        item["other_children_count"] = len(tag_strings) - len(item["child_ids"])
        item["blocked"] = False
        return item

    def _staff_photo(self, photo: Photo, tags, consent: dict, names: dict | None = None) -> dict:
        """Present a photo to staff, with the children who block it and why."""
        tag_strings = [str(t) for t in tags]
        blocked = [child for child in tag_strings if not consent.get(child, False)]
        item = self._common_fields(photo)
        item["child_ids"] = tag_strings
        item["uploaded_by"] = str(photo.uploaded_by)
        item["uploaded_at"] = photo.uploaded_at.isoformat() if photo.uploaded_at else None
        item["blocked"] = bool(blocked)
        item["blocked_child_ids"] = blocked
        item["blocked_reason"] = None
        if blocked:
            names = names if names is not None else self._blocked_names({photo.id: tags}, consent)
            label = ", ".join(names.get(child, child) for child in blocked)
            item["blocked_reason"] = render_all("photo_blocked_no_consent", names=label)
        item["failure"] = (
            {"code": photo.failure_code, "message": render_all(photo.failure_code)}
            if photo.status == PhotoStatus.FAILED and photo.failure_code else None
        )
        return item


def label_dict(label: ActivityLabel) -> dict:
    return {"id": str(label.id), "name": {"nl": label.name_nl, "en": label.name_en}, "active": label.active}
