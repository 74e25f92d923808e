"""Domain terms of the requests service."""

from enum import StrEnum


class CareType(StrEnum):
    """Kind of childcare a placement is for."""

    #: Daycare for children from 0 to 4 years (kinderdagverblijf, KDV).
    DAYCARE = "daycare"
    #: Care before school starts (voorschoolse opvang, VSO).
    BEFORE_SCHOOL = "before_school"
    #: Care after school ends (naschoolse opvang, NSO).
    AFTER_SCHOOL = "after_school"
    #: Whole-day care during school holidays for school-age children.
    HOLIDAY_CARE = "holiday_care"

    @property
    def is_out_of_school(self) -> bool:
        """Whether the care type falls under out-of-school care (BSO) ratio rules."""
        return self is not CareType.DAYCARE


class Daypart(StrEnum):
    """Part of a day that a placement or request covers."""

    #: Daycare morning.
    MORNING = "morning"
    #: Daycare afternoon.
    AFTERNOON = "afternoon"
    #: Daycare morning and afternoon together.
    WHOLE_DAY = "whole_day"
    #: Out-of-school care before school starts.
    BEFORE_SCHOOL = "before_school"
    #: Out-of-school care after school ends.
    AFTER_SCHOOL = "after_school"
    #: Out-of-school care for a whole day during school holidays.
    HOLIDAY = "holiday"

    def overlaps(self, other: "Daypart") -> bool:
        """Return whether both dayparts share hours: a whole day overlaps morning and afternoon."""
        if self is other:
            return True
        halves = {Daypart.MORNING, Daypart.AFTERNOON}
        if self is Daypart.WHOLE_DAY:
            return other in halves
        if other is Daypart.WHOLE_DAY:
            return self in halves
        return False

    @property
    def units(self) -> int:
        """Number of half-day units the daypart counts as for credit hours."""
        return 2 if self is Daypart.WHOLE_DAY else 1


class RequestKind(StrEnum):
    """Kind of request a parent sends."""

    #: The child is ill; takes effect at once without approval.
    ILLNESS = "illness"
    #: The child is away on holiday on a planned day.
    HOLIDAY = "holiday"
    #: Any other announced absence on a planned day.
    ABSENCE_OTHER = "absence_other"
    #: Care on a day that is not in the contract (extra opvang).
    EXTRA_DAY = "extra_day"
    #: Give up a contract day and take another day instead (ruildag).
    SWAP_DAY = "swap_day"

    @property
    def is_absence(self) -> bool:
        """Whether the request removes the child from a planned day."""
        return self in (RequestKind.ILLNESS, RequestKind.HOLIDAY, RequestKind.ABSENCE_OTHER)


class RequestState(StrEnum):
    """Life cycle state of a request."""

    #: Sent by the parent and waiting for a decision.
    SUBMITTED = "submitted"
    #: Accepted by staff or by the automatic approval rule.
    APPROVED = "approved"
    #: Turned down by staff or by a rule.
    REJECTED = "rejected"
    #: Withdrawn by the parent before it took effect.
    CANCELLED = "cancelled"
    #: Waiting until room in the group opens up.
    WAITLISTED = "waitlisted"

    @property
    def is_open(self) -> bool:
        """Whether the request still counts (it is neither rejected nor cancelled)."""
        return self in (RequestState.SUBMITTED, RequestState.APPROVED, RequestState.WAITLISTED)


class DayStatus(StrEnum):
    """State of a child's day or daypart after closing days and requests are applied."""

    #: A contract day on which the child is expected.
    PLANNED = "planned"
    #: A contract day with an approved holiday or other absence.
    ABSENT = "absent"
    #: The child is reported ill.
    ILL = "ill"
    #: An approved extra day outside the contract.
    EXTRA = "extra"
    #: A contract day given up for a swap.
    SWAPPED_OUT = "swapped_out"
    #: A day taken in exchange for a swapped-out contract day.
    SWAPPED_IN = "swapped_in"
    #: The location or group is closed.
    CLOSED = "closed"
    #: Neither in the contract nor requested.
    NOT_PLANNED = "not_planned"

    @property
    def is_present(self) -> bool:
        """Whether the child takes a place in the group."""
        return self in (DayStatus.PLANNED, DayStatus.EXTRA, DayStatus.SWAPPED_IN)


class ClosingKind(StrEnum):
    """Reason a location or group is closed on a day."""

    #: A national public holiday.
    NATIONAL_HOLIDAY = "national_holiday"
    #: A closure announced in advance, such as a staff training day.
    PLANNED = "planned"
    #: An unforeseen closure, such as a power failure or staff shortage.
    AD_HOC = "ad_hoc"


class RejectionCode(StrEnum):
    """Stable code of a rule that rejects a request; each has a Dutch and English message."""

    #: The child has no care on that day and daypart.
    NOT_PLANNED = "not_planned"
    #: The location is closed that day.
    CLOSED_DAY = "closed_day"
    #: The day is a national holiday.
    NATIONAL_HOLIDAY = "national_holiday"
    #: The day lies in the past.
    PAST_DATE = "past_date"
    #: The notice deadline for the day has passed.
    AFTER_DEADLINE = "after_deadline"
    #: The child already has care on that day and daypart.
    ALREADY_PLANNED = "already_planned"
    #: An open request for the same day and daypart exists.
    DUPLICATE_REQUEST = "duplicate_request"
    #: The child's care has ended (or not yet started) on that day.
    CARE_ENDED = "care_ended"
    #: The new swap day is too far from the day given up.
    SWAP_OUTSIDE_WINDOW = "swap_outside_window"
    #: The child used all swaps of the calendar year.
    SWAP_LIMIT_REACHED = "swap_limit_reached"
    #: The child already has care on the requested swap day.
    SWAP_DAY_ALREADY_PLANNED = "swap_day_already_planned"
    #: The swap day is in another group while the organisation requires the same group.
    SWAP_OTHER_GROUP = "swap_other_group"
    #: The group has reached its maximum size.
    GROUP_FULL = "group_full"
    #: Another child would need more staff than are rostered.
    RATIO_EXCEEDED = "ratio_exceeded"
    #: The credit-hour balance is too low.
    INSUFFICIENT_CREDIT = "insufficient_credit"
    #: The organisation does not use credit hours, or not for extra days.
    CREDIT_NOT_ALLOWED = "credit_not_allowed"
    #: The request can no longer be cancelled in its current state.
    NOT_CANCELLABLE = "not_cancellable"
