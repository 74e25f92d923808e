"""Events the requests service consumes, and its daily expiry of credit hours.

`EventConsumersMixin` is one of `RequestsService`'s bases. Every handler claims the event id in
the transaction of its change (`claim_event`), so a redelivered event changes nothing. Changes
of one placement or of one child's care end are ordered by the event's `occurred_at`: an event
that is not newer than the one applied last changes nothing. Check-ins and check-outs are kept
one row per attendance id and read back in order of their own time `at`, so late delivery
still ends in the latest state.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import structlog
from nameko.events import event_handler
from nameko.timer import timer

from samen_common.db import atomic
from samen_common.errors import Conflict, NotFound
from samen_common.outbox import claim_event
from samen_common.settings import env_int
from samen_common.staff_consumer import EventRejected, staff_event
from samen_common.timeutil import AMSTERDAM, local_today, parse_aware
from samen_requests import access, ledger, planning, queries
from samen_requests.models import CareEnd, HandledEvent

log = structlog.get_logger(__name__)

CHECK_IN = "checked_in"
CHECK_OUT = "checked_out"
CREDIT_EXPIRY_INTERVAL_SECONDS = env_int("SAMEN_REQUESTS_CREDIT_EXPIRY_INTERVAL_SECONDS", 24 * 60 * 60)


def _newer(applied_at: datetime | None, occurred_at: datetime) -> bool:
    return applied_at is None or occurred_at > applied_at


def _earlier(end: date | None, care_end: date) -> date:
    return care_end if end is None or care_end < end else end


class EventConsumersMixin:
    """Consumers of the coordinator's tool and of accounts' events, and the credit-expiry timer."""

    # The coordinator's tool.

    @staff_event("closing_day_added")
    def on_closing_day_added(self, event: dict) -> None:
        """Add a closing day sent by the coordinator's tool, as `add_closing_day` does.

        The actor must be a coordinator, unit manager or admin of the location, in the
        location's organisation. The actor's scope is fetched from accounts before the
        transaction starts, so no database connection waits on the broker.
        """
        handler = "requests.on_closing_day_added"
        event_id = str(event["event_id"])
        if self.db.get(HandledEvent, (event_id, handler)) is not None:
            log.info("staff_event.duplicate", handler=handler, event_id=event_id)
            return
        self.db.rollback()
        scope = self._actor_scope(event["actor_account_number"])
        location_id, group_id, day = event["location_id"], event["group_id"], event["day"]

        with atomic(self.db):
            queries.lock(self.db, f"location:{location_id}")
            if not claim_event(self.db, HandledEvent, event_id, handler):
                log.info("staff_event.duplicate", handler=handler, event_id=event_id)
                return
            groups = queries.groups_of_locations(self.db, [location_id])
            if not groups or (group_id is not None and group_id not in {g.id for g in groups}):
                raise EventRejected("unknown_location_or_group", location_id=str(location_id),
                                    group_id=str(group_id) if group_id else None)
            self._require_closing_day_manager(scope, groups[0].organisation_id, location_id, event)
            if day < local_today(self.clock()):
                raise EventRejected("closing_day_in_past", day=day.isoformat())
            try:
                row = self._create_closing_day(uuid.UUID(scope["account_id"]), groups, location_id, group_id, day,
                                               event["kind"], event["name_nl"], event["name_en"])
            except Conflict:
                raise EventRejected("closing_day_exists", location_id=str(location_id), day=day.isoformat()) from None
        log.info("staff_event.applied", event_type="closing_day_added", event_id=event_id,
                 closing_day_id=str(row.id), location_id=str(location_id), day=day.isoformat())

    def _actor_scope(self, account_number: str) -> dict:
        """Return the staff scope of the account number that sent a staff-tool event.

        `accounts.scope_of_account_number` raises NotFound for an unknown or inactive account.
        """
        try:
            scope = self.accounts.scope_of_account_number(account_number)
        except NotFound:
            raise EventRejected("actor_unknown", actor_account_number=account_number) from None
        if scope.get("kind") != "staff":
            raise EventRejected("actor_unknown", actor_account_number=account_number)
        return scope

    def _require_closing_day_manager(self, scope: dict, organisation_id: uuid.UUID, location_id: uuid.UUID,
                                     event: dict) -> None:
        allowed = scope.get("organisation_id") == str(organisation_id)
        if allowed:
            try:
                access.require_location_manager(scope, location_id)
            except NotFound:
                allowed = False
        if not allowed:
            raise EventRejected("actor_not_allowed", actor_account_number=event["actor_account_number"],
                                location_id=str(location_id))

    # Accounts: placements and the end of care.

    @event_handler("accounts", "placement_changed")
    def on_placement_changed(self, payload: dict) -> None:
        """Copy a changed placement unless a newer change of it was applied already.

        When the child's care ended in a newer event, the copy ends on that day at the latest.
        """
        parsed = self._parse_placement(payload["placement"])
        occurred_at = parse_aware(payload["occurred_at"], "occurred_at")
        with atomic(self.db):
            if not claim_event(self.db, HandledEvent, payload["event_id"], "requests.on_placement_changed"):
                return
            queries.lock_child(self.db, parsed["child_id"])
            existing = queries.placement_for_update(self.db, parsed["id"])
            if existing is not None and not _newer(existing.event_at, occurred_at):
                log.info("placement.outdated_event", placement_id=str(parsed["id"]), event_id=payload["event_id"])
                return
            care_end = queries.care_end_for_update(self.db, parsed["child_id"])
            if care_end is not None and care_end.occurred_at > occurred_at:
                parsed["end_date"] = _earlier(parsed["end_date"], care_end.end_date)
            self._store_placements([{**parsed, "event_at": occurred_at}])
        log.info("placement.copied", placement_id=str(parsed["id"]), event_id=payload["event_id"])

    @event_handler("accounts", "care_ended")
    def on_care_ended(self, payload: dict) -> None:
        """End the child's placement copies on `end_date` unless a newer placement change came later.

        NOTE: a newer `care_ended` with a later end date does not lengthen placements that an
        older one shortened; a `placement_changed` or `sync_placements` restores them.
        """
        child_id = uuid.UUID(str(payload["child_id"]))
        end_date = date.fromisoformat(payload["end_date"])
        occurred_at = parse_aware(payload["occurred_at"], "occurred_at")
        with atomic(self.db):
            if not claim_event(self.db, HandledEvent, payload["event_id"], "requests.on_care_ended"):
                return
            queries.lock_child(self.db, child_id)
            record = queries.care_end_for_update(self.db, child_id)
            if record is not None and not _newer(record.occurred_at, occurred_at):
                log.info("care_end.outdated_event", child_id=str(child_id), event_id=payload["event_id"])
                return
            if record is None:
                record = CareEnd(child_id=child_id)
                self.db.add(record)
            record.end_date = end_date
            record.occurred_at = occurred_at
            ended = 0
            for placement in queries.placements_of_children(self.db, [child_id]):
                if not _newer(placement.event_at, occurred_at):
                    continue
                new_end = _earlier(placement.end_date, end_date)
                if new_end != placement.end_date:
                    placement.end_date = new_end
                    ended += 1
        log.info("care_end.applied", child_id=str(child_id), end_date=end_date.isoformat(), placements_ended=ended)

    # Accounts: check-ins and check-outs from the kiosk.

    @event_handler("accounts", "child_checked_in")
    def on_child_checked_in(self, payload: dict) -> None:
        self._record_attendance(payload, CHECK_IN)

    @event_handler("accounts", "child_checked_out")
    def on_child_checked_out(self, payload: dict) -> None:
        self._record_attendance(payload, CHECK_OUT)

    def _record_attendance(self, payload: dict, kind: str) -> None:
        at = parse_aware(payload["at"], "at")
        values = {
            "attendance_id": uuid.UUID(str(payload["attendance_id"])),
            "child_id": uuid.UUID(str(payload["child_id"])),
            "group_id": uuid.UUID(str(payload["group_id"])),
            "kind": kind,
            "at": at,
            "local_date": at.astimezone(AMSTERDAM).date(),
            "recorded_by": uuid.UUID(str(payload["recorded_by"])),
            "collected_by": None,
        }
        if kind == CHECK_OUT:
            values["collected_by"] = (payload.get("collected_by") or "")[:200] or None
        with atomic(self.db):
            if not claim_event(self.db, HandledEvent, payload["event_id"], f"requests.on_child_{kind}"):
                return
            stored = queries.insert_attendance(self.db, values)
        log.info("attendance.recorded", kind=kind, attendance_id=str(values["attendance_id"]),
                 child_id=str(values["child_id"]), group_id=str(values["group_id"]), stored=stored)

    # Credit hours.

    @timer(interval=CREDIT_EXPIRY_INTERVAL_SECONDS, eager=True)
    def expire_credit(self) -> int:
        """Record the credit-hour expiries that fell due up to today, one child per transaction.

        Runs when the service starts and then once per interval. Expiry ids are derived from
        the lot they expire, so a second run (or a second process) records nothing new.
        Returns the number of children whose ledger was settled.
        """
        today = local_today(self.clock())
        child_ids = queries.children_with_credit_lots(self.db)
        children = queries.children_by_ids(self.db, child_ids)
        self.db.rollback()
        settled = 0
        for child_id in child_ids:
            child = children.get(child_id)
            if child is None:
                log.warning("credit.expiry_skipped_unknown_child", child_id=str(child_id))
                continue
            with atomic(self.db):
                queries.lock_child(self.db, child_id)
                ledger.settle(self.db, child_id, planning.rules_of(self.db, child.organisation_id), today)
            settled += 1
        log.info("credit.expiry_run", children=settled, day=today.isoformat())
        return settled
