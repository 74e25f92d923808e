"""Dutch and English text for every rejection code.

Dates in parameters are written out ("26 april 2025" / "26 April 2025"), datetimes with
their local time, and Decimal hours without trailing zeros.
"""

import string
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .enums import RejectionCode
from .rules import AMSTERDAM

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"

_MONTHS = {
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}

MESSAGES: dict[RejectionCode, dict[str, str]] = {
    RejectionCode.NOT_PLANNED: {
        "nl": "Uw kind heeft op {day} geen opvang.",
        "en": "Your child has no care on {day}.",
    },
    RejectionCode.CLOSED_DAY: {
        "nl": "De opvang is op {day} gesloten.",
        "en": "The centre is closed on {day}.",
    },
    RejectionCode.NATIONAL_HOLIDAY: {
        "nl": "{day} is een feestdag ({name_nl}); de opvang is dan gesloten.",
        "en": "{day} is a national holiday ({name_en}), so the centre is closed.",
    },
    RejectionCode.PAST_DATE: {
        "nl": "{day} ligt in het verleden.",
        "en": "{day} is in the past.",
    },
    RejectionCode.AFTER_DEADLINE: {
        "nl": "Dit kon tot {deadline}. Bel de groep als het dringend is.",
        "en": "This was possible until {deadline}. Please call the group if it is urgent.",
    },
    RejectionCode.ALREADY_PLANNED: {
        "nl": "Uw kind heeft op {day} al opvang.",
        "en": "Your child already has care on {day}.",
    },
    RejectionCode.DUPLICATE_REQUEST: {
        "nl": "Er is al een aanvraag voor {day}.",
        "en": "There is already a request for {day}.",
    },
    RejectionCode.CARE_ENDED: {
        "nl": "Uw kind heeft op {day} geen plaatsing meer.",
        "en": "Your child has no placement on {day}.",
    },
    RejectionCode.SWAP_OUTSIDE_WINDOW: {
        "nl": "Ruilen kan tot {days} dagen voor of na de geruilde dag.",
        "en": "A swap day must be within {days} days of the day given up.",
    },
    RejectionCode.SWAP_LIMIT_REACHED: {
        "nl": "U heeft in {year} al {max_swaps} keer geruild; meer kan niet.",
        "en": "You have already used all {max_swaps} swap days of {year}.",
    },
    RejectionCode.SWAP_DAY_ALREADY_PLANNED: {
        "nl": "Op {day} heeft uw kind al opvang; kies een andere ruildag.",
        "en": "Your child already has care on {day}; please choose another swap day.",
    },
    RejectionCode.SWAP_OTHER_GROUP: {
        "nl": "Een ruildag moet in de eigen groep vallen; op {day} kan dat niet.",
        "en": "A swap day must be in your child's own group, which is not possible on {day}.",
    },
    RejectionCode.GROUP_FULL: {
        "nl": "De groep is vol (maximaal {max_size} kinderen).",
        "en": "The group is full (at most {max_size} children).",
    },
    RejectionCode.RATIO_EXCEEDED: {
        "nl": "Er zijn te weinig pedagogisch medewerkers ingeroosterd voor nog een kind.",
        "en": "Not enough staff are scheduled to care for another child.",
    },
    RejectionCode.INSUFFICIENT_CREDIT: {
        "nl": "Uw tegoed is {available} uur; hiervoor is {requested} uur nodig.",
        "en": "Your credit is {available} hours; this needs {requested} hours.",
    },
    RejectionCode.CREDIT_NOT_ALLOWED: {
        "nl": "Betalen met tegoed is bij uw organisatie niet mogelijk.",
        "en": "Your organisation does not allow paying with credit hours.",
    },
    RejectionCode.NOT_CANCELLABLE: {
        "nl": "Deze aanvraag kan niet meer worden ingetrokken.",
        "en": "This request can no longer be cancelled.",
    },
}


def placeholders(code: RejectionCode) -> set[str]:
    """Return the parameter names the messages of a code use, over both languages."""
    names = set()
    for template in MESSAGES[code].values():
        names.update(name for _, name, _, _ in string.Formatter().parse(template) if name)
    return names


def _format_value(value: Any, lang: str) -> str:
    if isinstance(value, datetime):
        local = value.astimezone(AMSTERDAM) if value.tzinfo else value
        joiner = " om " if lang == "nl" else " at "
        return _format_date(local.date(), lang) + joiner + local.strftime("%H:%M")
    if isinstance(value, date):
        return _format_date(value, lang)
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text.replace(".", ",") if lang == "nl" else text
    return str(value)


def _format_date(day: date, lang: str) -> str:
    return f"{day.day} {_MONTHS[lang][day.month - 1]} {day.year}"


def render(code: RejectionCode | str, lang: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """Render the message of a rejection code in Dutch ("nl") or English ("en").

    Raises ValueError for an unknown code or language and for a missing parameter.
    """
    try:
        rejection_code = RejectionCode(code)
    except ValueError:
        raise ValueError(f"unknown rejection code {code!r}") from None
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}: use one of {', '.join(LANGUAGES)}")

    template = MESSAGES[rejection_code][lang]
    missing = placeholders(rejection_code) - params.keys()
    if missing:
        raise ValueError(f"message {rejection_code} needs parameters {sorted(missing)}")

    return template.format(**{name: _format_value(value, lang) for name, value in params.items()})
