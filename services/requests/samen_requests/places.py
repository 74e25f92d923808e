"""Closing days and the places they take or a cancellation frees.

`PlacesMixin` is one of `RequestsService`'s bases. A new closing day cancels the open extra
days and swap-ins on that day with reason `closed_day`. A cancelled approved extra day or
swap-in frees a place, which goes to the first waitlisted request of that group, day and
daypart that fits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import structlog

from samen_common.db import atomic
from samen_common.errors import Conflict
from samen_common.timeutil import local_today
from samen_requests import ledger, planning, queries
from samen_requests.domain.enums import Daypart, RequestState
from samen_requests.models import ClosingDayRow, GroupCopy, Request
from samen_requests.payloads import event_facts

log = structlog.get_logger(__name__)

CLOSED_DAY_REASON = "closed_day"


@dataclass(frozen=True)
class FreedPlace:
    """A place in a group on one day and daypart that a cancellation gave back."""

    group_id: uuid.UUID
    day: date
    daypart: Daypart


def closing_dict(row: ClosingDayRow) -> dict:
    return {
        "id": str(row.id), "location_id": str(row.location_id),
        "group_id": str(row.group_id) if row.group_id else None, "day": row.day.isoformat(), "kind": row.kind,
        "name_nl": row.name_nl, "name_en": row.name_en,
    }


class PlacesMixin:
    """Steps shared by the closing-day RPC, the coordinator's tool event and cancellations."""

    def _create_closing_day(self, actor_id: uuid.UUID, groups: list[GroupCopy], location_id: uuid.UUID,
                            group_id: uuid.UUID | None, day: date, kind: str, name_nl: str | None,
                            name_en: str | None) -> ClosingDayRow:
        """Store a closing day, stage `closing_day_added` and cancel the requests on that day.

        Runs inside the caller's transaction, which holds the location's lock. Raises Conflict
        when the location (or group) is closed on that day already.
        """
        if queries.closing_day(self.db, location_id, day, group_id) is not None:
            raise Conflict("closing_day_exists", day=day.isoformat())
        row = ClosingDayRow(
            organisation_id=groups[0].organisation_id, location_id=location_id, group_id=group_id,
            day=day, kind=kind, name_nl=(name_nl or "")[:200], name_en=(name_en or name_nl or "")[:200],
            created_by=actor_id,
        )
        self.db.add(row)
        self.db.flush()
        self.outbox.add(self.db, "closing_day_added", {
            "closing_day_id": str(row.id), "organisation_id": str(row.organisation_id),
            "location_id": str(location_id), "group_id": str(group_id) if group_id else None,
            "day": day.isoformat(), "kind": kind,
        })
        self._cancel_on_closure(row, actor_id)
        return row

    def _cancel_on_closure(self, closing: ClosingDayRow, actor_id: uuid.UUID) -> None:
        """Cancel the open extra days and swap-ins on a new closing day, giving back spent credit.

        Waitlisted and submitted ones are cancelled too, because no care can be given that day.
        A cancelled swap gives the child the day it gave up back.
        """
        now = self.clock()
        rules_by_organisation = {}
        for candidate in queries.day_requests_on_closure(self.db, closing.location_id, closing.group_id, closing.day):
            queries.lock_child(self.db, candidate.child_id)
            row = queries.request_for_update(self.db, candidate.id)
            if row.state not in queries.OPEN_STATES:
                continue
            rules = rules_by_organisation.get(row.organisation_id)
            if rules is None:
                rules = rules_by_organisation[row.organisation_id] = planning.rules_of(self.db, row.organisation_id)
            row.state = RequestState.CANCELLED.value
            row.reason_code = CLOSED_DAY_REASON
            row.decided_by = actor_id
            row.decided_at = now
            row.place_freed_at = None
            ledger.undo_request(self.db, row.child_id, row.id, rules, local_today(now), CLOSED_DAY_REASON)
            self.outbox.add(self.db, "request_decided", {**event_facts(row), "decided_by": str(actor_id)})
            log.info("request.cancelled_on_closing_day", request_id=str(row.id), child_id=str(row.child_id),
                     day=closing.day.isoformat())

    def _offer_freed_place(self, place: FreedPlace) -> Request | None:
        """Give a freed place to the first waitlisted request of its group, day and daypart that fits.

        With `auto_approve_when_room` the request is approved, otherwise it stays waitlisted
        with `place_freed_at` set so staff see it at the top of their decisions. Each candidate
        is tried in its own transaction, because the child's lock must be taken before the
        group-day lock. Returns the request that got the place, or None.
        """
        if place.day < local_today(self.clock()):
            return None
        candidates = [
            row.id for row in queries.waitlisted_on_group_day(self.db, place.group_id, place.day)
            if Daypart(row.daypart).overlaps(place.daypart)
        ]
        self.db.rollback()
        for request_id in candidates:
            offered = self._offer_to(request_id, place)
            if offered is not None:
                return offered
        return None

    def _offer_to(self, request_id: uuid.UUID, place: FreedPlace) -> Request | None:
        with atomic(self.db):
            candidate = self.db.get(Request, request_id)
            queries.lock_child(self.db, candidate.child_id)
            row = queries.request_for_update(self.db, request_id)
            if row.state != RequestState.WAITLISTED.value or row.start_date != place.day:
                return None
            part = Daypart(row.daypart)
            state = self._load(row.child_id, min(row.start_date, row.given_up_date or row.start_date), row.start_date)
            group = state.groups.get(row.group_id) or state.group_on(row.start_date)
            queries.lock_group_days(self.db, [(group.id, row.start_date)])
            if not self._decision(state, group, row.start_date, part).allowed:
                return None
            now = self.clock()
            if state.rules.auto_approve_when_room:
                row.state = RequestState.APPROVED.value
                row.reason_code = None
                row.decided_at = now
                row.decided_by = None
                row.place_freed_at = None
                self.outbox.add(self.db, "request_decided", {**event_facts(row), "decided_by": None})
            else:
                row.place_freed_at = now
            log.info("request.freed_place_offered", request_id=str(row.id), group_id=str(group.id),
                     day=row.start_date.isoformat(), state=row.state)
            return row
