"""Absence and day requests, schedules, capacity, closing days and the calendar feed.

Dates travel as YYYY-MM-DD strings; the requests service parses them, converts a timestamp
with a zone to its Amsterdam date and rejects one without a zone with 400.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from marshmallow import Schema, fields, validate

from samen_common.errors import InvalidInput
from samen_gateway.context import rpc
from samen_gateway.endpoints import endpoint

bp = Blueprint("requests", __name__, url_prefix="/api/v1")

DAYPARTS = ["morning", "afternoon", "whole_day", "before_school", "after_school", "holiday"]
MAX_KEY_LENGTH = 200


def idempotency_key() -> str | None:
    """Return the Idempotency-Key header, rejecting an empty or over-long one."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput("invalid_input", field="Idempotency-Key", value=key[:40])
    return key


class RequestOut(Schema):
    id = fields.String()
    child_id = fields.String()
    group_id = fields.String()
    location_id = fields.String()
    kind = fields.String(metadata={"description": "illness, holiday, absence_other, extra_day or swap_day"})
    state = fields.String(metadata={"description": "submitted, approved, rejected, cancelled or waitlisted"})
    start_date = fields.String()
    end_date = fields.String(allow_none=True)
    daypart = fields.String(allow_none=True)
    given_up_date = fields.String(allow_none=True)
    given_up_daypart = fields.String(allow_none=True)
    alternatives = fields.List(fields.String())
    spend_credit_hours = fields.String(allow_none=True)
    reason_code = fields.String(allow_none=True)
    reason_text = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    submitted_at = fields.String(allow_none=True)
    decided_at = fields.String(allow_none=True)
    place_freed_at = fields.String(
        allow_none=True,
        metadata={"description": "When a cancellation freed a place for this waitlisted request; staff decide"},
    )
    days = fields.List(fields.String())
    earned_credit_hours = fields.String()


class IllnessIn(Schema):
    start_date = fields.String(metadata={"description": "first day ill; default today"})
    daypart = fields.String(validate=validate.OneOf(DAYPARTS))


class RecoveredIn(Schema):
    back_on = fields.String(metadata={"description": "first day the child is back; default today"})


class AbsenceIn(Schema):
    kind = fields.String(load_default="holiday", validate=validate.OneOf(["holiday", "absence_other"]))
    start_date = fields.String(required=True)
    end_date = fields.String()
    daypart = fields.String(validate=validate.OneOf(DAYPARTS))
    note = fields.String(validate=validate.Length(max=1000))


class ExtraDayIn(Schema):
    day = fields.String(required=True)
    daypart = fields.String(load_default="whole_day", validate=validate.OneOf(DAYPARTS))
    spend_credit = fields.Boolean(load_default=False)
    waitlist = fields.Boolean(load_default=False)
    alternatives = fields.List(fields.String(), load_default=list)


class SwapDayIn(Schema):
    given_up_day = fields.String(required=True)
    given_up_daypart = fields.String(validate=validate.OneOf(DAYPARTS))
    new_day = fields.String(required=True)
    new_daypart = fields.String(validate=validate.OneOf(DAYPARTS))
    waitlist = fields.Boolean(load_default=False)
    alternatives = fields.List(fields.String(), load_default=list)


class DecisionIn(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "reject"]))
    reason = fields.String(validate=validate.Length(max=1000))
    day = fields.String(metadata={"description": "approve on this preferred alternative day instead"})


class ClosingDayIn(Schema):
    day = fields.String(required=True)
    kind = fields.String(load_default="planned", validate=validate.OneOf(["planned", "ad_hoc"]))
    group_id = fields.String()
    name_nl = fields.String(validate=validate.Length(max=200))
    name_en = fields.String(validate=validate.Length(max=200))


class ClosingDayOut(Schema):
    id = fields.String()
    location_id = fields.String()
    group_id = fields.String(allow_none=True)
    day = fields.String()
    kind = fields.String()
    name_nl = fields.String()
    name_en = fields.String()


class MonthQuery(Schema):
    month = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-\d{2}$"))


class DateQuery(Schema):
    date = fields.String()


class CapacityQuery(Schema):
    from_ = fields.String(data_key="from")
    weeks = fields.Integer(load_default=4, validate=validate.Range(min=1, max=12))


class RangeQuery(Schema):
    from_ = fields.String(data_key="from", required=True)
    to = fields.String(required=True)


class PendingQuery(Schema):
    group_id = fields.String()
    location_id = fields.String()


class SlotOut(Schema):
    group_id = fields.String()
    daypart = fields.String()
    booked_as = fields.String()
    status = fields.String()


class ClosingOut(Schema):
    day = fields.String()
    kind = fields.String()
    group_id = fields.String(allow_none=True)
    name_nl = fields.String()
    name_en = fields.String()


class ScheduleDayOut(Schema):
    date = fields.String()
    weekday = fields.Integer()
    closed = fields.Nested(ClosingOut, allow_none=True)
    slots = fields.List(fields.Nested(SlotOut))


class ScheduleOut(Schema):
    child_id = fields.String()
    month = fields.String()
    days = fields.List(fields.Nested(ScheduleDayOut))
    requests = fields.List(fields.Nested(RequestOut))


class MovementOut(Schema):
    id = fields.String()
    kind = fields.String()
    hours = fields.String()
    signed_hours = fields.String()
    on = fields.String()
    reason = fields.String()
    expires_on = fields.String(allow_none=True)
    lot_id = fields.String(allow_none=True)


class CreditOut(Schema):
    child_id = fields.String()
    credit_enabled = fields.Boolean()
    balance_hours = fields.String()
    movements = fields.List(fields.Nested(MovementOut))


class AttendanceChildOut(Schema):
    child_id = fields.String()
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    present = fields.Boolean()
    slots = fields.List(fields.Dict())
    checked_in_at = fields.String(allow_none=True, metadata={"description": "Latest check-in from the kiosk"})
    checked_out_at = fields.String(
        allow_none=True, metadata={"description": "Check-out after the latest check-in, or null while present"},
    )
    collected_by = fields.String(allow_none=True, metadata={"description": "Who collected the child at check-out"})


class AttendanceOut(Schema):
    group_id = fields.String()
    date = fields.String()
    closed = fields.Boolean()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    children = fields.List(fields.Nested(AttendanceChildOut))


class CapacityOut(Schema):
    group_id = fields.String()
    from_ = fields.String(data_key="from", attribute="from")
    weeks = fields.Integer()
    days = fields.List(fields.Dict())


class FeedOut(Schema):
    token = fields.String()
    path = fields.String()


class RulesOut(Schema):
    organisation_id = fields.String()
    document = fields.Dict()
    effective = fields.Dict()


CREATE_ERRORS = [400, 401, 404, 409, 422, 503]


@endpoint(bp, "/children/<child_id>/illness", "POST", summary="Report a child ill (takes effect at once)",
          body=IllnessIn, response=RequestOut, status=201, errors=CREATE_ERRORS)
def report_illness(child_id, body):
    return rpc("requests", "report_illness", child_id, start_date=body.get("start_date"),
               daypart=body.get("daypart"), idempotency_key=idempotency_key())


@endpoint(bp, "/children/<child_id>/illness/recovered", "POST", summary="End the open illness report",
          body=RecoveredIn, response=RequestOut, errors=CREATE_ERRORS)
def report_recovered(child_id, body):
    return rpc("requests", "report_recovered", child_id, back_on=body.get("back_on"),
               idempotency_key=idempotency_key())


@endpoint(bp, "/children/<child_id>/absences", "POST", summary="Announce a holiday or other absence",
          body=AbsenceIn, response=RequestOut, status=201, errors=CREATE_ERRORS)
def report_absence(child_id, body):
    return rpc("requests", "report_absence", child_id, kind=body["kind"], start_date=body["start_date"],
               end_date=body.get("end_date"), daypart=body.get("daypart"), note=body.get("note"),
               idempotency_key=idempotency_key())


@endpoint(bp, "/children/<child_id>/extra-days", "POST", summary="Request an extra day",
          body=ExtraDayIn, response=RequestOut, status=201, errors=CREATE_ERRORS)
def request_extra_day(child_id, body):
    return rpc("requests", "request_extra_day", child_id, day=body["day"], daypart=body["daypart"],
               spend_credit=body["spend_credit"], waitlist=body["waitlist"], alternatives=body["alternatives"],
               idempotency_key=idempotency_key())


@endpoint(bp, "/children/<child_id>/swap-days", "POST", summary="Swap a planned day for another day",
          body=SwapDayIn, response=RequestOut, status=201, errors=CREATE_ERRORS)
def request_swap_day(child_id, body):
    return rpc("requests", "request_swap_day", child_id, given_up_day=body["given_up_day"],
               new_day=body["new_day"], given_up_daypart=body.get("given_up_daypart"),
               new_daypart=body.get("new_daypart"), waitlist=body["waitlist"], alternatives=body["alternatives"],
               idempotency_key=idempotency_key())


@endpoint(bp, "/children/<child_id>/schedule", "GET", summary="A child's days of one month",
          query=MonthQuery, response=ScheduleOut, errors=[400, 401, 404, 503])
def child_schedule(child_id, query):
    return rpc("requests", "child_schedule", child_id, query["month"])


@endpoint(bp, "/children/<child_id>/credit", "GET", summary="Credit-hour balance and ledger",
          response=CreditOut, errors=[401, 404, 503])
def child_credit(child_id):
    return rpc("requests", "child_credit", child_id)


@endpoint(bp, "/children/<child_id>/requests", "GET", summary="A child's requests, newest first",
          response=RequestOut, many=True, errors=[401, 404, 503])
def child_requests(child_id):
    return rpc("requests", "child_requests", child_id)


@endpoint(bp, "/requests/<request_id>/cancel", "POST", summary="Cancel a request before its deadline",
          response=RequestOut, errors=[401, 404, 422, 503])
def cancel_request(request_id):
    return rpc("requests", "cancel_request", request_id)


@endpoint(bp, "/children/<child_id>/calendar-feed/reset", "POST",
          summary="Create or replace the private calendar feed URL (the old one stops working)",
          response=FeedOut, status=201, errors=[401, 404, 503])
def reset_calendar_feed(child_id):
    return rpc("requests", "reset_calendar_feed", child_id)


@bp.route("/calendar/<token>.ics", methods=["GET"])
def calendar_feed(token):
    """Serve the iCalendar feed behind a secret token, without a login."""
    text = rpc("requests", "calendar_feed", token)
    response = Response(text, mimetype="text/calendar")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@endpoint(bp, "/groups/<group_id>/attendance", "GET", summary="Attendance list of a group for a day",
          query=DateQuery, response=AttendanceOut, errors=[400, 401, 404, 503])
def group_attendance(group_id, query):
    return rpc("requests", "group_attendance", group_id, query.get("date"))


@endpoint(bp, "/groups/<group_id>/capacity", "GET", summary="Room per daypart for coming weeks",
          query=CapacityQuery, response=CapacityOut, errors=[400, 401, 404, 503])
def group_capacity(group_id, query):
    return rpc("requests", "group_capacity", group_id, query.get("from_"), query["weeks"])


@endpoint(bp, "/staff/requests/pending", "GET", summary="Submitted and waitlisted requests of my groups",
          query=PendingQuery, response=RequestOut, many=True, errors=[401, 404, 503])
def pending_requests(query):
    return rpc("requests", "pending_requests", group_id=query.get("group_id"), location_id=query.get("location_id"))


@endpoint(bp, "/requests/<request_id>/decision", "POST", summary="Approve or reject a request",
          body=DecisionIn, response=RequestOut, errors=[400, 401, 404, 409, 422, 503])
def decide_request(request_id, body):
    return rpc("requests", "decide_request", request_id, body["decision"], reason=body.get("reason"),
               day=body.get("day"))


@endpoint(bp, "/locations/<location_id>/closing-days", "POST", summary="Add a planned or ad hoc closing day",
          body=ClosingDayIn, response=ClosingDayOut, status=201, errors=CREATE_ERRORS)
def add_closing_day(location_id, body):
    return rpc("requests", "add_closing_day", location_id, body["day"], kind=body["kind"],
               group_id=body.get("group_id"), name_nl=body.get("name_nl"), name_en=body.get("name_en"),
               idempotency_key=idempotency_key())


@endpoint(bp, "/locations/<location_id>/closing-days", "GET", summary="Closing days and national holidays",
          query=RangeQuery, response=ClosingOut, many=True, errors=[400, 401, 404, 503])
def list_closing_days(location_id, query):
    return rpc("requests", "list_closing_days", location_id, query["from_"], query["to"])


@endpoint(bp, "/organisation/request-rules", "GET", summary="The organisation's request rules",
          response=RulesOut, errors=[401, 503])
def get_rules():
    return rpc("requests", "get_rules")


@endpoint(bp, "/organisation/request-rules", "PUT", summary="Replace the request rules (admin)",
          body=None, response=RulesOut, errors=[400, 401, 404, 503])
def set_rules():
    document = request.get_json(silent=True)
    if not isinstance(document, dict):
        raise InvalidInput("invalid_json")
    return rpc("requests", "set_rules", document)
