from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from samen_requests.domain.enums import RejectionCode
from samen_requests.domain.messages import MESSAGES, placeholders, render

SAMPLE_VALUES = {
    "day": date(2025, 4, 26),
    "deadline": datetime(2025, 3, 30, 7, 0, tzinfo=UTC),
    "days": 14,
    "max_swaps": 12,
    "year": 2025,
    "max_size": 16,
    "name_nl": "Koningsdag",
    "name_en": "King's Day",
    "available": Decimal("7.50"),
    "requested": Decimal(10),
}


@pytest.mark.parametrize("code", list(RejectionCode))
def test_every_code_has_both_languages(code):
    assert set(MESSAGES[code]) == {"nl", "en"}
    params = {name: SAMPLE_VALUES[name] for name in placeholders(code)}

    assert render(code, "nl", **params)
    assert render(code, "en", **params)


def test_render_swap_window():
    assert render("swap_outside_window", "nl", days=14) == (
        "Ruilen kan tot 14 dagen voor of na de geruilde dag."
    )
    assert render(RejectionCode.SWAP_OUTSIDE_WINDOW, "en", days=14) == (
        "A swap day must be within 14 days of the day given up."
    )


def test_render_deadline_in_local_time():
    deadline = datetime(2025, 3, 30, 7, 0, tzinfo=UTC)

    assert "30 maart 2025 om 09:00" in render("after_deadline", "nl", deadline=deadline)
    assert "30 March 2025 at 09:00" in render("after_deadline", "en", deadline=deadline)


def test_render_hours_with_dutch_decimal_comma():
    text = render("insufficient_credit", "nl", available=Decimal("7.50"), requested=Decimal(10))

    assert text == "Uw tegoed is 7,5 uur; hiervoor is 10 uur nodig."


def test_render_defaults_to_dutch():
    assert render("group_full", max_size=12) == "De groep is vol (maximaal 12 kinderen)."


def test_render_missing_parameter():
    with pytest.raises(ValueError, match=r"needs parameters \['days'\]"):
        render("swap_outside_window", "en")


def test_render_unknown_language():
    with pytest.raises(ValueError, match="unsupported language 'de'"):
        render("group_full", "de", max_size=12)


def test_render_unknown_code():
    with pytest.raises(ValueError, match="unknown rejection code"):
        render("no_such_code", "en")
