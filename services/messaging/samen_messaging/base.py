"""Helpers that every part of the messaging service uses: scope, children, names, photos."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import structlog
from nameko.exceptions import MethodNotFound, RemoteError, UnknownService

from samen_common.errors import InvalidInput, NotFound, SamenError
from samen_common.timeutil import parse_aware
from samen_messaging import access

log = structlog.get_logger(__name__)

# Failures of an optional call to media: the photos are left out and the rest still answers.
MEDIA_FAILURES = (SamenError, RemoteError, UnknownService, MethodNotFound)


# The dates messaging accepts in a request. No notebook, keepsake or day overview lies outside
# them, and they keep day arithmetic (the end of a local day) far from date.max.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def field_error(code: str, field: str, **params) -> InvalidInput:
    """Build a 400 error about one request field.

    The `fields` parameter ({field: [code]}) becomes the `details` of the gateway's response.
    """
    return InvalidInput(code, field=field, fields={field: [code]}, **params)


def parse_optional_time(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        return parse_aware(value, field)
    except InvalidInput as exc:
        raise field_error(exc.code, field, value=value) from None


def check_time_window(value: datetime, field: str, now: datetime, past: timedelta, future: timedelta) -> datetime:
    """Return `value`, or raise a 400 naming `field` when it lies before now - past or after now + future."""
    earliest, latest = now - past, now + future
    if not earliest <= value <= latest:
        raise field_error("time_out_of_range", field, value=value.isoformat(),
                          earliest=earliest.isoformat(timespec="minutes"), latest=latest.isoformat(timespec="minutes"))
    return value


def parse_date(value: str | None, field: str) -> date | None:
    """Parse a YYYY-MM-DD request value between EARLIEST_DATE and LATEST_DATE, or None when empty."""
    if not value:
        return None
    try:
        parsed = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise field_error("invalid_date", field, value=value) from None
    if not EARLIEST_DATE <= parsed <= LATEST_DATE:
        raise field_error("date_out_of_range", field, value=value, earliest=EARLIEST_DATE.isoformat(),
                          latest=LATEST_DATE.isoformat())
    return parsed


def check_period(start: date, end: date, max_days: int, start_field: str = "from", end_field: str = "to") -> None:
    """Raise a 400 naming the end field when `end` is before `start` or the period spans more than `max_days`."""
    if start > end:
        raise field_error("period_reversed", end_field, start=start.isoformat(), end=end.isoformat(),
                          start_field=start_field)
    if (end - start).days + 1 > max_days:
        raise field_error("period_too_long", end_field, start=start.isoformat(), end=end.isoformat(), limit=max_days)


def photo_key(photo: dict) -> str | None:
    return str(photo.get("id") or photo.get("photo_id") or "") or None


class MessagingBase:
    """Methods shared by the mixins of MessagingService, whose class declares the dependencies."""

    _scope_cache: dict | None = None

    def _scope(self) -> dict:
        if self._scope_cache is None:
            self._scope_cache = self.accounts.access_scope()
        return self._scope_cache

    def _child_for_caller(self, child_id: str) -> dict:
        """Return the child if the caller is its guardian or staff of its current group."""
        access.parse_id(child_id)
        scope = self._scope()
        try:
            if scope.get("kind") == "guardian":
                return access.guardian_child(scope, child_id)
            children = self.accounts.children([str(child_id)])
            if not children:
                raise NotFound()
            access.require_staff_group(scope, children[0].get("group_id"))
            return children[0]
        except NotFound:
            log.warning("access.child_not_found", child_id=str(child_id), account_id=scope.get("account_id"))
            raise

    def _may_see_child(self, child_id, group_id=None) -> bool:
        """Return whether the caller is a guardian of the child or staff of `group_id`."""
        scope = self._scope()
        if scope.get("kind") == "guardian":
            return any(child["id"] == str(child_id) for child in scope.get("children", []))
        if group_id is not None and access.staff_may_act_on_group(scope, group_id):
            return True
        children = self.accounts.children([str(child_id)])
        return bool(children) and access.staff_may_act_on_group(scope, children[0].get("group_id"))

    def _names(self, account_ids) -> dict[str, str]:
        ids = sorted({str(account_id) for account_id in account_ids if account_id})
        if not ids:
            return {}
        return {contact["id"]: contact["display_name"] for contact in self.accounts.contacts(ids)}

    def _visible_photos(self, photo_ids) -> dict[str, dict] | None:
        """Return {photo id: photo with URLs} that the caller may see, or None when media fails."""
        ids = sorted({str(photo_id) for photo_id in photo_ids if photo_id})
        if not ids:
            return {}
        try:
            result = self.media.visible_photos(ids)
        except MEDIA_FAILURES as exc:
            log.warning("media.visible_photos_failed", error=str(exc)[:200], photos=len(ids))
            return None
        photos = result.values() if isinstance(result, dict) else result
        return {photo_key(photo): photo for photo in photos or [] if photo_key(photo)}

    def _check_photo_ids(self, photo_ids, limit: int) -> list[str]:
        """Validate photo ids to attach: each must be a photo that media lets the caller see.

        Raises ServiceUnavailable (503) when media does not answer, so nothing is attached blindly.
        """
        ids = list(dict.fromkeys(str(photo_id) for photo_id in photo_ids or []))
        if len(ids) > limit:
            raise InvalidInput("too_many_photos", limit=limit)
        if not ids:
            return []
        result = self.media.visible_photos(ids)
        photos = result.values() if isinstance(result, dict) else result
        known = {photo_key(photo) for photo in photos or []}
        for photo_id in ids:
            if photo_id not in known:
                raise InvalidInput("photo_not_available", photo_id=photo_id)
        return ids

    def _photo_list(self, photo_ids, visible: dict[str, dict] | None) -> list[dict]:
        if visible is None:
            return []
        photos = []
        for photo_id in photo_ids or []:
            photo = visible.get(str(photo_id))
            if photo is not None:
                photos.append(
                    {"id": str(photo_id), "thumb_url": photo.get("thumb_url"), "screen_url": photo.get("screen_url")}
                )
        return photos
