"""Pure parts of the notify service: quiet hours, defaults, texts, templates and cursors."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timezone

import pytest
from nameko.testing.services import worker_factory

from samen_common.errors import InvalidInput, ServiceUnavailable
from samen_common.timeutil import AMSTERDAM
from samen_notify import inbox, mail
from samen_notify.messages import join_names, notification_title
from samen_notify.models import Notification
from samen_notify.quiet_hours import in_quiet_hours, parse_clock, release_time
from samen_notify.subjects import Channel, Subject, effective


def amsterdam(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMSTERDAM).astimezone(timezone.utc)


@pytest.mark.parametrize(("clock", "expected"), [
    (time(20, 59), False), (time(21, 0), True), (time(23, 30), True), (time(0, 0), True),
    (time(6, 59), True), (time(7, 0), False), (time(12, 0), False),
])
def test_quiet_hours_cross_midnight(clock, expected):
    assert in_quiet_hours(clock, time(21, 0), time(7, 0)) is expected


def test_quiet_hours_same_day_span():
    assert in_quiet_hours(time(13, 0), time(12, 0), time(14, 0))
    assert not in_quiet_hours(time(14, 0), time(12, 0), time(14, 0))
    assert not in_quiet_hours(time(3, 0), time(7, 0), time(7, 0))


def test_release_evening_to_next_morning():
    released = release_time(amsterdam(2026, 12, 4, 22, 15), time(21, 0), time(7, 0))

    assert released.astimezone(AMSTERDAM) == datetime(2026, 12, 5, 7, 0, tzinfo=AMSTERDAM)


def test_release_early_morning_same_day():
    released = release_time(amsterdam(2026, 12, 5, 3, 0), time(21, 0), time(7, 0))

    assert released.astimezone(AMSTERDAM) == datetime(2026, 12, 5, 7, 0, tzinfo=AMSTERDAM)


def test_release_outside_quiet_unchanged():
    moment = amsterdam(2026, 12, 5, 12, 0)

    assert release_time(moment, time(21, 0), time(7, 0)) == moment


def test_release_across_dst_change():
    # The clocks go back on 25 October 2026; 07:00 that morning is UTC+1.
    released = release_time(amsterdam(2026, 10, 24, 23, 0), time(21, 0), time(7, 0))

    assert released == datetime(2026, 10, 25, 6, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value", ["7", "24:00", "07:60", "ab:cd", "07:5", ""])
def test_parse_clock_rejects(value):
    with pytest.raises(ValueError):
        parse_clock(value)


def test_defaults_and_account_fixed():
    assert effective({}, Subject.PHOTOS, Channel.PUSH) is True
    assert effective({}, Subject.PHOTOS, Channel.EMAIL) is False
    assert effective({("photos", "push"): False}, Subject.PHOTOS, Channel.PUSH) is False
    assert effective({("account", "email"): False}, Subject.ACCOUNT, Channel.EMAIL) is True


def test_join_names_per_language():
    assert join_names(["Sam"], "nl") == "Sam"
    assert join_names(["Sam", "Lisa", "Noor"], "nl") == "Sam, Lisa en Noor"
    assert join_names(["Sam", "Lisa"], "en") == "Sam and Lisa"
    assert join_names([], "en") == "your child"


def test_titles_one_and_many():
    assert notification_title("photos", 12, ["Sam"], "nl") == "12 nieuwe foto's van Sam"
    assert notification_title("photos", 12, ["Sam"], "en") == "12 new photos of Sam"
    assert notification_title("requests", 1, ["Sam"], "nl", "rejected") == "Je aanvraag voor Sam is afgewezen"
    assert notification_title("requests", 1, ["Sam"], "en", "cancelled") == "Your request for Sam was handled"
    assert notification_title("news", 3, [], "nl") == "3 nieuwe nieuwsberichten"


def test_mail_html_escaped_text_not():
    rendered = mail.render("password_changed", "nl", "Onderwerp", name="<script>x</script> & co",
                           account_number="100001", changed_local="04-12-2026 10:00", forgot_url="https://x/forgot")

    assert "&lt;script&gt;" in rendered.html
    assert "<script>" not in rendered.html
    assert "<script>x</script> & co" in rendered.text


def test_mail_unknown_language_falls_back():
    rendered = mail.render("password_reset", "fr", "Subject", name="A", reset_url="https://x/r?token=t",
                           expires_local="today")

    assert "Hallo A" in rendered.text


def test_cursor_round_trip():
    notification = Notification(id=uuid.uuid4(), created_at=datetime(2026, 12, 4, 10, 0, tzinfo=timezone.utc))

    created_at, notification_id = inbox.decode_cursor(inbox.encode_cursor(notification))

    assert created_at == notification.created_at
    assert notification_id == notification.id


@pytest.mark.parametrize("cursor", ["", "@@@", "bm90IGEgY3Vyc29y", "MjAyNi0xMi0wNFQxMDowMDowMHxub3QtYS11dWlk"])
def test_cursor_rejects_garbage(cursor):
    with pytest.raises(InvalidInput):
        inbox.decode_cursor(cursor)


def test_outage_requeues_event():
    from samen_notify.service import NotifyService

    service = worker_factory(NotifyService)
    service.accounts.contacts.side_effect = ServiceUnavailable()

    with pytest.raises(ServiceUnavailable):
        service.on_password_changed({"event_id": str(uuid.uuid4()), "account_id": str(uuid.uuid4())})


def test_unexpected_error_drops_event():
    from samen_notify.service import NotifyService

    service = worker_factory(NotifyService)
    service.accounts.contacts.side_effect = KeyError("email")

    assert service.on_password_changed({"event_id": str(uuid.uuid4()), "account_id": str(uuid.uuid4())}) is None


def test_invalid_payload_drops_event():
    from samen_notify.service import NotifyService

    service = worker_factory(NotifyService)

    result = service.on_password_reset_requested({"event_id": str(uuid.uuid4()), "account_id": str(uuid.uuid4()),
                                                  "expires_at": "no date", "secret_token": "t"})

    assert result is None
    assert not service.accounts.contacts.called
