"""The private iCalendar feed of a child's care days and closing days."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from icalendar import Calendar, Event

from samen_common import i18n
from samen_requests.domain.enums import DayStatus
from samen_requests.domain.schedule import ClosingDay, Slot

PRODUCT_ID = "-//Samen//Requests calendar feed//NL"


def _dayparts_label(slots: list[Slot], language: str) -> str:
    names = []
    for slot in slots:
        name = i18n.translate(f"daypart_{slot.daypart.value}", language)
        if name not in names:
            names.append(name)
    return ", ".join(names)


def build_feed(
    child_id: str, child_name: str, calendar: dict[date, list[Slot]], closings: list[ClosingDay],
    language: str, generated_at: datetime,
) -> bytes:
    """Render all-day events for each day with care and each closing day of the child's location."""
    feed = Calendar()
    feed.add("prodid", PRODUCT_ID)
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    feed.add("x-wr-calname", i18n.translate("feed_title", language, name=child_name))
    feed.add("x-wr-timezone", "Europe/Amsterdam")

    for day, slots in sorted(calendar.items()):
        present = [slot for slot in slots if slot.status.is_present]
        if not present:
            continue
        event = Event()
        event.add("uid", f"care-{child_id}-{day.isoformat()}@samen")
        event.add("dtstamp", generated_at)
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("summary", i18n.translate("feed_care", language, dayparts=_dayparts_label(present, language)))
        event.add("categories", [slot.status.value for slot in present if slot.status is not DayStatus.PLANNED] or ["planned"])
        event.add("transp", "TRANSPARENT")
        feed.add_component(event)

    seen = set()
    for closing in sorted(closings, key=lambda c: c.day):
        if closing.day in seen:
            continue
        seen.add(closing.day)
        name = closing.name_nl if language == "nl" else closing.name_en
        event = Event()
        event.add("uid", f"closed-{child_id}-{closing.day.isoformat()}@samen")
        event.add("dtstamp", generated_at)
        event.add("dtstart", closing.day)
        event.add("dtend", closing.day + timedelta(days=1))
        summary = i18n.translate("feed_closed", language, name=name) if name else i18n.translate("feed_closed_plain", language)
        event.add("summary", summary)
        event.add("categories", [closing.kind.value])
        event.add("transp", "TRANSPARENT")
        feed.add_component(event)
    return feed.to_ical()
