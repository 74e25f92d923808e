"""The requests service: schedules, closing days, absence and day requests, capacity, credit hours."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import fields as dataclass_fields
from datetime import date, timedelta
from decimal import Decimal

import structlog
from nameko.extensions import DependencyProvider
from sqlalchemy.exc import IntegrityError

from samen_common.auth import CallerIdentity
from samen_common.context import RequestContext
from samen_common.db import Database, atomic
from samen_common.errors import Conflict, InvalidInput, NotFound, Unprocessable
from samen_common.logs import configure_logging
from samen_common.outbox import Outbox
from samen_common.rpc import TimedRpcProxy, rpc
from samen_common.settings import env_int
from samen_common.timeutil import local_today, utcnow
from samen_requests import access, consumers, ical, ledger, places, planning, queries
from samen_requests import messages  # noqa: F401 - registers the service's texts
from samen_requests.domain.credit import MovementKind
from samen_requests.domain.enums import CareType, ClosingKind, Daypart, RejectionCode, RequestKind, RequestState
from samen_requests.domain.rejection import Rejection
from samen_requests.domain.rules import (
    ChildContext,
    OrganisationRules,
    RulesError,
    announced_in_time,
    check_absence,
    check_cancel,
    check_extra_day,
    check_illness,
    check_swap,
)
from samen_requests.domain.schedule import DayRequest, child_calendar, child_slots
from samen_requests.inputs import parse_day, parse_daypart, parse_id, parse_month, parse_optional_day
from samen_requests.messages import rejection_error
from samen_requests.payloads import event_facts
from samen_requests.models import (
    IdempotencyRecord,
    OutboxMessage,
    Request,
    RulesDocument,
)

configure_logging("requests")
log = structlog.get_logger(__name__)

MAX_ABSENCE_DAYS = env_int("SAMEN_REQUESTS_MAX_ABSENCE_DAYS", 62)
MAX_CAPACITY_WEEKS = env_int("SAMEN_REQUESTS_MAX_CAPACITY_WEEKS", 12)
FEED_PAST_DAYS = env_int("SAMEN_REQUESTS_FEED_PAST_DAYS", 31)
FEED_FUTURE_DAYS = env_int("SAMEN_REQUESTS_FEED_FUTURE_DAYS", 183)
MAX_ALTERNATIVES = 5


class Clock(DependencyProvider):
    """`self.clock()` returns the current aware UTC time; tests inject a fixed one."""

    def get_dependency(self, worker_ctx):
        return utcnow


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def request_dict(row: Request) -> dict:
    return {
        "id": str(row.id), "child_id": str(row.child_id), "group_id": str(row.group_id),
        "location_id": str(row.location_id), "kind": row.kind, "state": row.state,
        "start_date": _iso(row.start_date), "end_date": _iso(row.end_date), "daypart": row.daypart,
        "given_up_date": _iso(row.given_up_date), "given_up_daypart": row.given_up_daypart,
        "alternatives": list(row.alternatives or []),
        "spend_credit_hours": str(row.spend_credit_hours) if row.spend_credit_hours is not None else None,
        "reason_code": row.reason_code, "reason_text": row.reason_text, "note": row.note,
        "submitted_at": row.submitted_at.isoformat() if row.submitted_at else None,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "place_freed_at": row.place_freed_at.isoformat() if row.place_freed_at else None,
    }


def rules_dict(rules: OrganisationRules) -> dict:
    result = {}
    for field in dataclass_fields(rules):
        value = getattr(rules, field.name)
        if field.name == "holiday_policy":
            result["good_friday_closed"] = value.good_friday
            result["liberation_day"] = value.liberation_day.value
        elif isinstance(value, Decimal):
            result[field.name] = str(value)
        elif hasattr(value, "strftime"):
            result[field.name] = value.strftime("%H:%M")
        else:
            result[field.name] = value
    return result


class RequestsService(places.PlacesMixin, consumers.EventConsumersMixin):
    name = "requests"

    db = Database("requests")
    outbox = Outbox(OutboxMessage)
    context = RequestContext()
    caller = CallerIdentity()
    accounts = TimedRpcProxy("accounts")
    clock = Clock()

    @rpc
    def health(self) -> dict:
        return {"service": self.name, "status": "ok"}

    # Copies of accounts data: placements, groups, children, and the roster.

    @rpc
    def sync_placements(self, placements: list[dict]) -> dict:
        """Upsert placements with their groups (and max size) and children's birth dates.

        Runs on the internal broker for the planning import; a call with a token needs the
        admin role. Each item: id, child_id, group_id, care_type, weekdays (ISO 1-7),
        dayparts, start_date, end_date (inclusive, or null).
        """
        if self.caller.present:
            access.require_admin(self.caller())
        parsed = [self._parse_placement(item) for item in placements or []]
        with atomic(self.db):
            counts = self._store_placements(parsed)
        log.info("placements.synced", **counts)
        return counts

    def _parse_placement(self, item: dict) -> dict:
        try:
            weekdays = sorted({int(day) for day in item["weekdays"]})
            dayparts = sorted({Daypart(part).value for part in item["dayparts"]})
            values = {
                "id": uuid.UUID(str(item["id"])), "child_id": uuid.UUID(str(item["child_id"])),
                "group_id": uuid.UUID(str(item["group_id"])), "care_type": CareType(item["care_type"]).value,
                "weekdays": weekdays, "dayparts": dayparts,
                "start_date": parse_day(item["start_date"], "start_date"),
                "end_date": parse_optional_day(item.get("end_date"), "end_date"),
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput("invalid_input", field="placement", value=str(exc)[:200]) from None
        if any(not 1 <= day <= 7 for day in weekdays):
            raise InvalidInput("invalid_input", field="weekdays", value=weekdays)
        return values

    def _store_placements(self, parsed: list[dict]) -> dict:
        group_ids = sorted({str(p["group_id"]) for p in parsed})
        child_ids = sorted({str(p["child_id"]) for p in parsed})
        groups = {g["id"]: g for g in self.accounts.groups(group_ids)} if group_ids else {}
        children = {c["id"]: c for c in self.accounts.children(child_ids)} if child_ids else {}
        for group_id in group_ids:
            if group_id not in groups:
                raise InvalidInput("invalid_input", field="group_id", value=group_id)
            group = groups[group_id]
            queries.upsert_group(
                self.db,
                {
                    "id": uuid.UUID(group_id), "organisation_id": uuid.UUID(group["organisation_id"]),
                    "location_id": uuid.UUID(group["location_id"]), "name": group["name"],
                    "care_type": group["care_type"], "max_size": int(group["max_size"]),
                },
            )
        for placement in parsed:
            child = children.get(str(placement["child_id"]))
            if child is None:
                raise InvalidInput("invalid_input", field="child_id", value=str(placement["child_id"]))
            queries.upsert_child(
                self.db,
                {
                    "id": placement["child_id"],
                    "organisation_id": uuid.UUID(groups[str(placement["group_id"])]["organisation_id"]),
                    "birth_date": date.fromisoformat(child["birth_date"]),
                },
            )
            queries.upsert_placement(self.db, placement)
        return {"placements": len(parsed), "groups": len(group_ids), "children": len(child_ids)}

    @rpc
    def set_roster(self, entries: list[dict]) -> dict:
        """Upsert the staff on the roster per group and day.

        Each entry: group_id, day and either staff_ids (a list) or staff_count. Runs on the
        internal broker; a call with a token needs the admin role.
        """
        if self.caller.present:
            access.require_admin(self.caller())
        with atomic(self.db):
            for entry in entries or []:
                group_id = parse_id(entry.get("group_id"))
                day = parse_day(entry.get("day"), "day")
                staff_ids = [str(s) for s in entry.get("staff_ids") or []]
                count = entry.get("staff_count")
                count = len(staff_ids) if count is None else int(count)
                if count < 0:
                    raise InvalidInput("invalid_input", field="staff_count", value=count)
                queries.upsert_roster_day(self.db, group_id, day, count, staff_ids)
        return {"days": len(entries or [])}

    # Organisation rules.

    @rpc
    def get_rules(self) -> dict:
        caller = self.caller()
        organisation_id = uuid.UUID(caller.organisation_id)
        row = queries.rules_document(self.db, organisation_id)
        return {
            "organisation_id": str(organisation_id),
            "document": row.document if row else {},
            "effective": rules_dict(planning.rules_of(self.db, organisation_id)),
        }

    @rpc
    def set_rules(self, document: dict) -> dict:
        """Replace the caller's organisation's rules; admin only. Missing keys take defaults."""
        caller = self.caller()
        access.require_admin(caller)
        if not isinstance(document, dict):
            raise InvalidInput("rules_invalid", errors="expected a JSON object")
        try:
            OrganisationRules.from_dict(document)
        except RulesError as exc:
            raise InvalidInput("rules_invalid", errors="; ".join(exc.errors)) from None
        organisation_id = uuid.UUID(caller.organisation_id)
        with atomic(self.db):
            row = queries.rules_document(self.db, organisation_id)
            if row is None:
                row = RulesDocument(organisation_id=organisation_id)
                self.db.add(row)
            row.document = document
            row.updated_by = uuid.UUID(caller.account_id)
            row.updated_at = utcnow()
        return self.get_rules()

    # Parent requests. Each runs in one transaction that first locks the child, so two calls
    # for one child never decide on the same stale state, then replays a known Idempotency-Key.

    def _guarded(self, operation: str, child_id: str, key: str | None, body: dict, create) -> dict:
        caller = self.caller()
        child_uuid = parse_id(child_id)
        access.guardian_child(self.accounts, caller, child_uuid)
        caller_id = uuid.UUID(caller.account_id)
        digest = _hash(json.dumps({"operation": operation, "child_id": str(child_uuid), "body": body},
                                  sort_keys=True, default=str))
        key = (key or "").strip()[:200] or None
        try:
            with atomic(self.db):
                queries.lock_child(self.db, child_uuid)
                if key:
                    replay = self._replay(caller_id, key, digest)
                    if replay is not None:
                        return replay
                response = create(child_uuid, caller_id)
                if key:
                    self.db.add(IdempotencyRecord(caller_id=caller_id, key=key, operation=operation,
                                                  body_hash=digest, response=response))
                    self.db.flush()
        except IntegrityError:
            # The same key was used at the same moment for another child: the first one won.
            with atomic(self.db):
                replay = self._replay(caller_id, key, digest)
            if replay is None:
                raise
            return replay
        return response

    def _replay(self, caller_id: uuid.UUID, key: str, digest: str) -> dict | None:
        record = queries.idempotency_record(self.db, caller_id, key)
        if record is None:
            return None
        if record.body_hash != digest:
            raise Conflict("idempotency_key_reused")
        log.info("idempotency.replayed", operation=record.operation)
        return record.response

    def _today(self) -> date:
        return local_today(self.clock())

    def _load(self, child_id: uuid.UUID, start: date, end: date) -> planning.ChildState:
        state = planning.load_child(self.db, child_id, start - timedelta(days=7), end + timedelta(days=7))
        if state is None:
            # A child of the caller without a synced placement has no care to change.
            raise rejection_error_for_care_ended(start)
        return state

    def _present_dayparts(self, state: planning.ChildState, day: date) -> list[Daypart]:
        slots = child_slots(day, state.context.placements, state.context.closing_days, state.context.requests)
        return [slot.daypart for slot in slots if slot.status.is_present]

    def _new_request(self, state: planning.ChildState, group, caller_id: uuid.UUID, kind: RequestKind,
                     request_state: RequestState, **values) -> Request:
        row = Request(
            id=uuid.uuid4(), organisation_id=group.organisation_id, location_id=group.location_id,
            group_id=group.id, child_id=state.child_id, kind=kind.value, state=request_state.value,
            submitted_by=caller_id, submitted_at=self.clock(), **values,
        )
        if request_state in (RequestState.APPROVED, RequestState.REJECTED):
            row.decided_at = row.submitted_at
        self.db.add(row)
        self.db.flush()
        return row

    @rpc
    def report_illness(self, child_id: str, start_date: str | None = None, daypart: str | None = None,
                       idempotency_key: str | None = None) -> dict:
        """Report a child ill from today or a later day; it takes effect at once."""
        body = {"start_date": start_date, "daypart": daypart}

        def create(child_uuid, caller_id):
            now = self.clock()
            day = parse_day(start_date, "start_date") if start_date else local_today(now)
            part = parse_daypart(daypart)
            state = self._load(child_uuid, day, day)
            parts = [part] if part else (self._present_dayparts(state, day) or [Daypart.WHOLE_DAY])
            for each in parts:
                rejection = check_illness(state.rules, now, state.context, day, each)
                if rejection is not None:
                    raise rejection_error(rejection)
            row = self._new_request(state, state.group_on(day), caller_id, RequestKind.ILLNESS,
                                    RequestState.APPROVED, start_date=day, daypart=part.value if part else None)
            self.outbox.add(self.db, "absence_reported", event_facts(row))
            return request_dict(row)

        return self._guarded("report_illness", child_id, idempotency_key, body, create)

    @rpc
    def report_recovered(self, child_id: str, back_on: str | None = None, idempotency_key: str | None = None) -> dict:
        """End the open illness: the child is back on `back_on` (default today)."""
        body = {"back_on": back_on}

        def create(child_uuid, caller_id):
            back = parse_day(back_on, "back_on") if back_on else self._today()
            row = queries.open_illness(self.db, child_uuid)
            if row is None:
                raise Unprocessable("no_open_illness")
            last_ill_day = back - timedelta(days=1)
            if last_ill_day < row.start_date:
                # The child is back before the reported first day, so the report is withdrawn.
                row.state = RequestState.CANCELLED.value
                row.end_date = row.start_date
            else:
                row.end_date = last_ill_day
            self.outbox.add(self.db, "illness_ended", {**event_facts(row), "back_on": back.isoformat()})
            return request_dict(row)

        return self._guarded("report_recovered", child_id, idempotency_key, body, create)

    @rpc
    def report_absence(self, child_id: str, kind: str, start_date: str, end_date: str | None = None,
                       daypart: str | None = None, note: str | None = None,
                       idempotency_key: str | None = None) -> dict:
        """Announce a holiday or other absence on the planned days from start to end.

        Days without care in the range (weekends, closing days) are skipped. Each planned
        daypart announced before the notice deadline earns credit hours when enabled.
        """
        body = {"kind": kind, "start_date": start_date, "end_date": end_date, "daypart": daypart, "note": note}

        def create(child_uuid, caller_id):
            now = self.clock()
            request_kind = _absence_kind(kind)
            first = parse_day(start_date, "start_date")
            last = parse_day(end_date, "end_date") if end_date else first
            if last < first:
                raise InvalidInput("invalid_date_range", start=first.isoformat(), end=last.isoformat())
            if (last - first).days >= MAX_ABSENCE_DAYS:
                raise InvalidInput("date_range_too_long", days=MAX_ABSENCE_DAYS)
            part = parse_daypart(daypart)
            state = self._load(child_uuid, first, last)

            planned: list[tuple[date, Daypart]] = []
            day = first
            while day <= last:
                parts = self._present_dayparts(state, day)
                if part is not None:
                    parts = [p for p in parts if p.overlaps(part)] and [part]
                planned.extend((day, p) for p in parts)
                day += timedelta(days=1)
            if not planned:
                rejection = check_absence(state.rules, now, state.context, first, part or Daypart.WHOLE_DAY)
                raise rejection_error(rejection) if rejection else Unprocessable("not_planned")
            for day, each in planned:
                rejection = check_absence(state.rules, now, state.context, day, each)
                if rejection is not None:
                    raise rejection_error(rejection)

            group = state.group_on(planned[0][0])
            row = self._new_request(state, group, caller_id, request_kind, RequestState.APPROVED,
                                    start_date=first, end_date=last, daypart=part.value if part else None,
                                    note=(note or "")[:1000] or None)
            earned = Decimal(0)
            today = local_today(now)
            for day, each in planned:
                if announced_in_time(state.rules, now, day):
                    earned += ledger.earn_for_absence(self.db, child_uuid, row.id, state.rules, today, day, each)
            self.outbox.add(self.db, "absence_reported", event_facts(row))
            return {**request_dict(row), "days": sorted({d.isoformat() for d, _ in planned}),
                    "earned_credit_hours": str(earned)}

        return self._guarded("report_absence", child_id, idempotency_key, body, create)

    @rpc
    def request_extra_day(self, child_id: str, day: str, daypart: str, spend_credit: bool = False,
                          waitlist: bool = False, alternatives: list[str] | None = None,
                          idempotency_key: str | None = None) -> dict:
        """Ask for care on a day outside the contract; it needs room in the group.

        When the group is full the request is rejected, or waitlisted with the parent's
        preferred alternative days when `waitlist` is true.
        """
        body = {"day": day, "daypart": daypart, "spend_credit": bool(spend_credit), "waitlist": bool(waitlist),
                "alternatives": alternatives or []}

        def create(child_uuid, caller_id):
            now = self.clock()
            today = local_today(now)
            wanted = parse_day(day, "day")
            part = parse_daypart(daypart) or Daypart.WHOLE_DAY
            preferred = _alternatives(alternatives)
            state = self._load(child_uuid, wanted, wanted)

            hours = None
            balance = Decimal(0)
            if spend_credit:
                hours = state.rules.credit_hours_per_daypart * part.units
                balance = ledger.balance(ledger.settle(self.db, child_uuid, state.rules, today), today)
            rejection = check_extra_day(state.rules, now, state.context, wanted, part, None, hours, balance)
            if rejection is not None:
                raise rejection_error(rejection)

            group = state.group_on(wanted)
            request_state, reason = self._room_state(state, group, wanted, part, waitlist)
            row = self._new_request(state, group, caller_id, RequestKind.EXTRA_DAY, request_state,
                                    start_date=wanted, daypart=part.value, alternatives=preferred,
                                    spend_credit_hours=hours, reason_code=reason)
            if hours is not None:
                ledger.spend_for_extra_day(self.db, child_uuid, row.id, hours, today, wanted)
            self._announce(row)
            return request_dict(row)

        return self._guarded("request_extra_day", child_id, idempotency_key, body, create)

    @rpc
    def request_swap_day(self, child_id: str, given_up_day: str, new_day: str, given_up_daypart: str | None = None,
                         new_daypart: str | None = None, waitlist: bool = False,
                         alternatives: list[str] | None = None, idempotency_key: str | None = None) -> dict:
        """Give up a planned day and take `new_day` instead, in the same group."""
        body = {"given_up_day": given_up_day, "new_day": new_day, "given_up_daypart": given_up_daypart,
                "new_daypart": new_daypart, "waitlist": bool(waitlist), "alternatives": alternatives or []}

        def create(child_uuid, caller_id):
            now = self.clock()
            given_up = parse_day(given_up_day, "given_up_day")
            wanted = parse_day(new_day, "new_day")
            preferred = _alternatives(alternatives)
            state = self._load(child_uuid, min(given_up, wanted), max(given_up, wanted))
            given_part = parse_daypart(given_up_daypart, "given_up_daypart")
            if given_part is None:
                planned = self._present_dayparts(state, given_up)
                given_part = planned[0] if len(planned) == 1 else Daypart.WHOLE_DAY
            new_part = parse_daypart(new_daypart, "new_daypart") or given_part

            rejection = check_swap(state.rules, now, state.context, given_up, given_part, wanted, new_part)
            if rejection is not None:
                raise rejection_error(rejection)

            group = state.group_on(given_up)
            request_state, reason = self._room_state(state, group, wanted, new_part, waitlist)
            row = self._new_request(state, group, caller_id, RequestKind.SWAP_DAY, request_state,
                                    start_date=wanted, daypart=new_part.value, given_up_date=given_up,
                                    given_up_daypart=given_part.value, alternatives=preferred, reason_code=reason)
            self._announce(row)
            return request_dict(row)

        return self._guarded("request_swap_day", child_id, idempotency_key, body, create)

    def _room_state(self, state: planning.ChildState, group, day: date, part: Daypart,
                    waitlist: bool) -> tuple[RequestState, str | None]:
        """Lock the group's day, then decide the initial state from the room and the rules."""
        queries.lock_group_days(self.db, [(group.id, day)])
        decision = self._decision(state, group, day, part)
        if not decision.allowed:
            if waitlist:
                return RequestState.WAITLISTED, decision.reason.value
            raise rejection_error(decision.rejection())
        if state.rules.auto_approve_when_room:
            return RequestState.APPROVED, None
        return RequestState.SUBMITTED, None

    def _decision(self, state: planning.ChildState, group, day: date, part: Daypart):
        group_day = planning.group_days(self.db, group, day, day, [part])[0]
        age = planning.safe_age(state.birth_date, day, CareType(group.care_type))
        return group_day.decision_for(age)

    def _announce(self, row: Request) -> None:
        self.outbox.add(self.db, "request_submitted", event_facts(row))
        if row.state == RequestState.APPROVED.value:
            self.outbox.add(self.db, "request_decided", {**event_facts(row), "decided_by": None})

    @rpc
    def cancel_request(self, request_id: str) -> dict:
        """Withdraw a request before its cancellation deadline; credit movements are undone."""
        caller = self.caller()
        request_uuid = parse_id(request_id)
        row = self.db.get(Request, request_uuid)
        if row is None:
            raise NotFound()
        access.guardian_child(self.accounts, caller, row.child_id)
        self.db.rollback()

        with atomic(self.db):
            queries.lock_child(self.db, row.child_id)
            row = queries.request_for_update(self.db, request_uuid)
            now = self.clock()
            rules = planning.rules_of(self.db, row.organisation_id)
            rejection = check_cancel(rules, now, _cancel_view(row))
            if rejection is not None:
                raise rejection_error(rejection)
            freed = None
            if row.state == RequestState.APPROVED.value and row.kind in (RequestKind.EXTRA_DAY.value,
                                                                         RequestKind.SWAP_DAY.value):
                freed = places.FreedPlace(row.group_id, row.start_date, Daypart(row.daypart))
            row.state = RequestState.CANCELLED.value
            row.decided_by = uuid.UUID(caller.account_id)
            row.decided_at = now
            ledger.undo_request(self.db, row.child_id, row.id, rules, local_today(now), "cancelled")
            self.outbox.add(self.db, "request_decided", {**event_facts(row), "decided_by": caller.account_id})
            response = request_dict(row)
        if freed is not None:
            # NOTE: the offer runs after the cancellation committed; when this process stops in
            # between, the waitlisted request stays in the staff's pending list without the offer.
            self._offer_freed_place(freed)
        return response

    # Staff decisions and closing days.

    @rpc
    def decide_request(self, request_id: str, decision: str, reason: str | None = None,
                       day: str | None = None) -> dict:
        """Approve or reject a submitted or waitlisted request of a group in the caller's scope.

        Approval checks the room again under the group-day lock. `day` approves a waitlisted
        request on one of the parent's preferred alternative days instead.
        """
        caller = self.caller()
        scope = access.staff_scope(self.accounts, caller)
        request_uuid = parse_id(request_id)
        row = self.db.get(Request, request_uuid)
        if row is None:
            raise NotFound()
        access.require_group(scope, row.group_id)
        if decision not in ("approve", "reject"):
            raise InvalidInput("invalid_input", field="decision", value=decision)
        alternative = parse_optional_day(day, "day")
        self.db.rollback()

        with atomic(self.db):
            queries.lock_child(self.db, row.child_id)
            row = queries.request_for_update(self.db, request_uuid)
            if row.state not in (RequestState.SUBMITTED.value, RequestState.WAITLISTED.value):
                raise Conflict("request_not_decidable", state=row.state)
            now = self.clock()
            if decision == "approve":
                self._approve(row, alternative)
            else:
                rules = planning.rules_of(self.db, row.organisation_id)
                row.state = RequestState.REJECTED.value
                row.reason_code = "staff_rejected"
                row.reason_text = (reason or "")[:1000] or None
                ledger.undo_request(self.db, row.child_id, row.id, rules, local_today(now), "rejected")
            row.decided_by = uuid.UUID(caller.account_id)
            row.decided_at = now
            row.place_freed_at = None
            self.outbox.add(self.db, "request_decided", {**event_facts(row), "decided_by": caller.account_id})
            return request_dict(row)

    def _approve(self, row: Request, alternative: date | None) -> None:
        """Approve under the group-day lock when the group still has room.

        The parent's rules (deadline, closing day, duplicates) were checked at submission and
        are checked again only for an alternative day, because staff may decide after the
        notice deadline.
        """
        if row.kind not in (RequestKind.EXTRA_DAY.value, RequestKind.SWAP_DAY.value):
            row.state = RequestState.APPROVED.value
            return
        day = alternative or row.start_date
        part = Daypart(row.daypart)
        state = self._load(row.child_id, min(day, row.given_up_date or day), day)
        if alternative is not None and alternative != row.start_date:
            if alternative.isoformat() not in (row.alternatives or []):
                raise InvalidInput("alternative_not_offered", day=alternative.isoformat())
            # The request itself is not in effect yet; leave it out so it is not its own duplicate.
            others = [r for r in state.context.requests if r.request_id != str(row.id)]
            context = ChildContext(state.context.placements, state.context.closing_days, others)
            if row.kind == RequestKind.EXTRA_DAY.value:
                rejection = check_extra_day(state.rules, self.clock(), context, day, part)
            else:
                rejection = check_swap(state.rules, self.clock(), context, row.given_up_date,
                                       Daypart(row.given_up_daypart), day, part)
            if rejection is not None:
                raise rejection_error(rejection)
            row.start_date = day
        group = state.groups.get(row.group_id) or state.group_on(day)
        queries.lock_group_days(self.db, [(group.id, day)])
        decision = self._decision(state, group, day, part)
        if not decision.allowed:
            raise rejection_error(decision.rejection())
        row.state = RequestState.APPROVED.value
        row.reason_code = None

    @rpc
    def add_closing_day(self, location_id: str, day: str, kind: str = "planned", group_id: str | None = None,
                        name_nl: str | None = None, name_en: str | None = None,
                        idempotency_key: str | None = None) -> dict:
        """Record a planned or ad hoc closure of a location (or one of its groups).

        Open extra days and swap-ins on that day are cancelled with reason `closed_day`.
        """
        caller = self.caller()
        scope = access.staff_scope(self.accounts, caller)
        location_uuid = parse_id(location_id)
        access.require_location_manager(scope, location_uuid)
        closing_day = parse_day(day, "day")
        if kind not in (ClosingKind.PLANNED.value, ClosingKind.AD_HOC.value):
            raise InvalidInput("invalid_input", field="kind", value=kind)
        group_uuid = parse_id(group_id) if group_id else None
        groups = queries.groups_of_locations(self.db, [location_uuid])
        if not groups or str(groups[0].organisation_id) != caller.organisation_id:
            # An organisation-wide scope covers the caller's own organisation only.
            raise NotFound()
        if group_uuid and group_uuid not in {g.id for g in groups}:
            raise NotFound()
        if closing_day < self._today():
            raise rejection_error_past(closing_day)
        caller_id = uuid.UUID(caller.account_id)
        body = {"location_id": str(location_uuid), "day": closing_day.isoformat(), "kind": kind,
                "group_id": group_id, "name_nl": name_nl, "name_en": name_en}
        digest = _hash(json.dumps(body, sort_keys=True))
        key = (idempotency_key or "").strip()[:200] or None

        with atomic(self.db):
            queries.lock(self.db, f"location:{location_uuid}")
            if key:
                replay = self._replay(caller_id, key, digest)
                if replay is not None:
                    return replay
            row = self._create_closing_day(caller_id, groups, location_uuid, group_uuid, closing_day, kind,
                                           name_nl, name_en)
            response = places.closing_dict(row)
            if key:
                self.db.add(IdempotencyRecord(caller_id=caller_id, key=key, operation="add_closing_day",
                                              body_hash=digest, response=response))
        return response

    @rpc
    def list_closing_days(self, location_id: str, start: str, end: str) -> list[dict]:
        """List stored and national-holiday closures of a location in the caller's scope."""
        caller = self.caller()
        location_uuid = parse_id(location_id)
        if caller.is_guardian:
            scope = self.accounts.access_scope()
            if str(location_uuid) not in {c.get("location_id") for c in scope.get("children", [])}:
                raise NotFound()
        else:
            scope = access.staff_scope(self.accounts, caller)
            if not {str(g.id) for g in queries.groups_of_locations(self.db, [location_uuid])} & set(scope["group_ids"]):
                raise NotFound()
        first, last = parse_day(start, "from"), parse_day(end, "to")
        if last < first or (last - first).days > 400:
            raise InvalidInput("invalid_date_range", start=first.isoformat(), end=last.isoformat())
        rules = planning.rules_of(self.db, uuid.UUID(caller.organisation_id))
        closings = planning.closing_days(self.db, rules, [location_uuid], first, last)
        return [_closing_view(c) for c in sorted(closings, key=lambda c: c.day)]

    # Parent views.

    @rpc
    def child_schedule(self, child_id: str, month: str) -> dict:
        """Return each day of a month with the child's dayparts and their status."""
        caller = self.caller()
        child_uuid = parse_id(child_id)
        access.guardian_child(self.accounts, caller, child_uuid)
        first, last = parse_month(month)
        state = planning.load_child(self.db, child_uuid, first, last)
        if state is None:
            return {"child_id": str(child_uuid), "month": month, "days": [], "requests": []}
        calendar = child_calendar(first, last, state.context.placements, state.context.closing_days,
                                  state.context.requests)
        closings = {c.day: c for c in state.context.closing_days if c.group_id is None}
        days = []
        for day, slots in calendar.items():
            closing = closings.get(day)
            days.append({
                "date": day.isoformat(),
                "weekday": day.isoweekday(),
                "closed": _closing_view(closing) if closing else None,
                "slots": [
                    {"group_id": slot.group_id, "daypart": slot.daypart.value, "booked_as": slot.booked_as.value,
                     "status": slot.status.value}
                    for slot in slots
                ],
            })
        touched = [request_dict(r) for r in queries.requests_overlapping(self.db, child_uuid, first, last)]
        return {"child_id": str(child_uuid), "month": month, "days": days, "requests": touched}

    @rpc
    def child_credit(self, child_id: str) -> dict:
        """Return the credit-hour balance and every ledger movement, recording due expiries first."""
        caller = self.caller()
        child_uuid = parse_id(child_id)
        access.guardian_child(self.accounts, caller, child_uuid)
        today = self._today()
        with atomic(self.db):
            state = planning.load_child(self.db, child_uuid, today, today)
            rules = state.rules if state else OrganisationRules()
            movements = ledger.settle(self.db, child_uuid, rules, today)
        movements.sort(key=lambda m: (m.on, m.kind is MovementKind.EXPIRED, m.movement_id))
        return {
            "child_id": str(child_uuid),
            "credit_enabled": rules.credit_enabled,
            "balance_hours": str(ledger.balance(movements, today)),
            "movements": [ledger.movement_dict(m) for m in movements],
        }

    @rpc
    def child_requests(self, child_id: str) -> list[dict]:
        caller = self.caller()
        child_uuid = parse_id(child_id)
        access.guardian_child(self.accounts, caller, child_uuid)
        rows = queries.requests_of_children(self.db, [child_uuid])
        return [request_dict(row) for row in reversed(rows)]

    @rpc
    def reset_calendar_feed(self, child_id: str) -> dict:
        """Create or replace the guardian's private feed token; the old URL stops working."""
        caller = self.caller()
        child_uuid = parse_id(child_id)
        access.guardian_child(self.accounts, caller, child_uuid)
        token = secrets.token_urlsafe(32)
        with atomic(self.db):
            queries.upsert_calendar_feed(self.db, child_uuid, uuid.UUID(caller.account_id), _hash(token),
                                         self.context.language)
        return {"token": token, "path": f"/api/v1/calendar/{token}.ics"}

    @rpc
    def calendar_feed(self, token: str) -> str:
        """Render the feed behind a token, without a login; an unknown token raises NotFound."""
        feed = queries.calendar_feed_by_hash(self.db, _hash(token or ""))
        if feed is None:
            raise NotFound()
        guardians = self.accounts.guardians_of_children([str(feed.child_id)]).get(str(feed.child_id), [])
        if str(feed.guardian_id) not in guardians:
            raise NotFound()
        today = self._today()
        first, last = today - timedelta(days=FEED_PAST_DAYS), today + timedelta(days=FEED_FUTURE_DAYS)
        state = planning.load_child(self.db, feed.child_id, first, last)
        names = self.accounts.children([str(feed.child_id)])
        name = names[0]["first_name"] if names else ""
        if state is None:
            calendar, closings = {}, []
        else:
            calendar = child_calendar(first, last, state.context.placements, state.context.closing_days,
                                      state.context.requests)
            closings = [c for c in state.context.closing_days if c.group_id is None and first <= c.day <= last]
        return ical.build_feed(str(feed.child_id), name, calendar, closings, feed.language, self.clock()).decode()

    # Staff views.

    @rpc
    def group_attendance(self, group_id: str, day: str) -> dict:
        """Return who is expected in a group on a day, and who is ill, absent, extra or swapped.

        Each child also has `checked_in_at`, `checked_out_at` and `collected_by` from the kiosk.
        A child checked in without a planned slot is listed with empty `slots`.
        """
        caller = self.caller()
        scope = access.staff_scope(self.accounts, caller)
        group_uuid = parse_id(group_id)
        access.require_group(scope, group_uuid)
        group = queries.groups_by_ids(self.db, [group_uuid]).get(group_uuid)
        if group is None:
            raise NotFound()
        the_day = parse_day(day, "date") if day else self._today()
        rules = planning.rules_of(self.db, group.organisation_id)
        child_ids = queries.children_placed_in_group(self.db, group_uuid, the_day, the_day)
        child_ids |= queries.children_booked_into_group(self.db, group_uuid, the_day, the_day)
        attendance = attendance_by_child(queries.attendance_of_group_day(self.db, group_uuid, the_day))
        child_ids |= set(attendance)
        closings = planning.closing_days(self.db, rules, [group.location_id], the_day, the_day)
        placements: dict = {}
        for row in queries.placements_of_children(self.db, child_ids):
            placements.setdefault(row.child_id, []).append(planning.to_placement(row))
        requests: dict = {}
        for row in queries.requests_of_children(self.db, child_ids):
            requests.setdefault(row.child_id, []).extend(planning.to_day_requests(row, the_day, the_day))
        names = {c["id"]: c for c in self.accounts.children([str(c) for c in child_ids])} if child_ids else {}

        children = []
        counts: dict[str, int] = {}
        for child_id in child_ids:
            slots = [s for s in child_slots(the_day, placements.get(child_id, []), closings, requests.get(child_id, []))
                     if s.group_id == str(group_uuid)]
            if not slots and child_id not in attendance:
                continue
            for slot in slots:
                counts[slot.status.value] = counts.get(slot.status.value, 0) + 1
            info = names.get(str(child_id), {})
            children.append({
                "child_id": str(child_id), "first_name": info.get("first_name"), "last_name": info.get("last_name"),
                "present": any(s.status.is_present for s in slots),
                "slots": [{"daypart": s.daypart.value, "booked_as": s.booked_as.value, "status": s.status.value}
                          for s in slots],
                **attendance.get(child_id, NOT_CHECKED_IN),
            })
        children.sort(key=lambda c: ((c["first_name"] or ""), c["child_id"]))
        closed = any(c.day == the_day and c.applies_to(str(group_uuid)) for c in closings)
        return {"group_id": str(group_uuid), "date": the_day.isoformat(), "closed": closed, "counts": counts,
                "children": children}

    @rpc
    def group_capacity(self, group_id: str, start: str | None = None, weeks: int = 4) -> dict:
        """Return per working day and daypart the children present, the room left and the staff."""
        caller = self.caller()
        scope = access.staff_scope(self.accounts, caller)
        group_uuid = parse_id(group_id)
        access.require_group(scope, group_uuid)
        group = queries.groups_by_ids(self.db, [group_uuid]).get(group_uuid)
        if group is None:
            raise NotFound()
        first = parse_day(start, "from") if start else self._today()
        weeks = int(weeks)
        if not 1 <= weeks <= MAX_CAPACITY_WEEKS:
            raise InvalidInput("invalid_input", field="weeks", value=weeks)
        last = first + timedelta(days=7 * weeks - 1)
        days = []
        for entry in planning.group_days(self.db, group, first, last):
            if entry.day.isoweekday() > 5:
                continue
            occupancy = entry.occupancy
            days.append({
                "date": entry.day.isoformat(), "daypart": entry.daypart.value, "closed": entry.closed,
                "max_size": group.max_size, "present": occupancy.present, "contract": occupancy.contract,
                "extra": occupancy.extra, "swapped_in": occupancy.swapped_in, "absent": occupancy.absent,
                "ill": occupancy.ill, "swapped_out": occupancy.swapped_out,
                "free": 0 if entry.closed else max(0, group.max_size - occupancy.present),
                "staff_required": entry.staff_required, "staff_on_roster": entry.staff_on_roster,
            })
        return {"group_id": str(group_uuid), "from": first.isoformat(), "weeks": weeks, "days": days}

    @rpc
    def pending_requests(self, group_id: str | None = None, location_id: str | None = None) -> list[dict]:
        """List submitted and waitlisted requests of the caller's groups, optionally filtered."""
        caller = self.caller()
        scope = access.staff_scope(self.accounts, caller)
        group_ids = {uuid.UUID(g) for g in scope.get("group_ids", [])}
        if group_id:
            wanted = parse_id(group_id)
            if wanted not in group_ids:
                raise NotFound()
            group_ids = {wanted}
        if location_id:
            location_uuid = parse_id(location_id)
            group_ids &= {g.id for g in queries.groups_of_locations(self.db, [location_uuid])}
        return [request_dict(row) for row in queries.pending_requests(self.db, group_ids)]


NOT_CHECKED_IN = {"checked_in_at": None, "checked_out_at": None, "collected_by": None}


def attendance_by_child(rows) -> dict[uuid.UUID, dict]:
    """Fold check-ins and check-outs, sorted by their time, into each child's latest state.

    A check-in starts a new stay, so a child who went home and came back shows the return
    without the earlier check-out.
    """
    result: dict[uuid.UUID, dict] = {}
    for row in rows:
        state = result.setdefault(row.child_id, dict(NOT_CHECKED_IN))
        if row.kind == consumers.CHECK_IN:
            state.update(checked_in_at=row.at.isoformat(), checked_out_at=None, collected_by=None)
        else:
            state.update(checked_out_at=row.at.isoformat(), collected_by=row.collected_by)
    return result


def _absence_kind(kind: str) -> RequestKind:
    try:
        value = RequestKind(kind)
    except ValueError:
        value = None
    if value not in (RequestKind.HOLIDAY, RequestKind.ABSENCE_OTHER):
        raise InvalidInput("invalid_input", field="kind", value=kind)
    return value


def _alternatives(values) -> list[str]:
    days = sorted({parse_day(v, "alternatives").isoformat() for v in values or []})
    if len(days) > MAX_ALTERNATIVES:
        raise InvalidInput("invalid_input", field="alternatives", value=f"at most {MAX_ALTERNATIVES}")
    return days


def _cancel_view(row: Request) -> DayRequest:
    return DayRequest(
        request_id=str(row.id), kind=RequestKind(row.kind), state=RequestState(row.state), day=row.start_date,
        daypart=Daypart(row.daypart) if row.daypart else Daypart.WHOLE_DAY,
        given_up_day=row.given_up_date,
        given_up_daypart=Daypart(row.given_up_daypart) if row.given_up_daypart else None,
    )


def _closing_view(closing) -> dict:
    return {"day": closing.day.isoformat(), "kind": closing.kind.value, "group_id": closing.group_id,
            "name_nl": closing.name_nl, "name_en": closing.name_en}


def rejection_error_for_care_ended(day: date) -> Unprocessable:
    return rejection_error(Rejection(RejectionCode.CARE_ENDED, {"day": day}))


def rejection_error_past(day: date) -> Unprocessable:
    return rejection_error(Rejection(RejectionCode.PAST_DATE, {"day": day}))
