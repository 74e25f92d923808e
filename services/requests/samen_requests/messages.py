"""Texts of the requests service in Dutch and English, and rejections as errors."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from samen_common import i18n
from samen_common.errors import Unprocessable
from samen_requests.domain import messages as rejection_messages
from samen_requests.domain.rejection import Rejection

i18n.register(
    {
        "invalid_date": {
            "nl": "{field} moet een datum zijn als JJJJ-MM-DD, niet {value}.",
            "en": "{field} must be a date as YYYY-MM-DD, not {value}.",
        },
        "date_out_of_range": {
            "nl": "Datum {value} valt buiten het bereik dat Samen kent ({first} tot en met {last}).",
            "en": "Date {value} is outside the range Samen handles ({first} to {last}).",
        },
        "invalid_month": {
            "nl": "De maand moet de vorm JJJJ-MM hebben, niet {value}.",
            "en": "The month must look like YYYY-MM, not {value}.",
        },
        "invalid_daypart": {
            "nl": "Dagdeel {value} bestaat niet; kies uit {choices}.",
            "en": "Daypart {value} does not exist; choose from {choices}.",
        },
        "invalid_date_range": {
            "nl": "De einddatum {end} ligt voor de begindatum {start}.",
            "en": "The end date {end} is before the start date {start}.",
        },
        "date_range_too_long": {
            "nl": "Een periode mag hoogstens {days} dagen lang zijn.",
            "en": "A period may be at most {days} days long.",
        },
        "rules_invalid": {
            "nl": "De regels zijn ongeldig: {errors}.",
            "en": "The rules are invalid: {errors}.",
        },
        "idempotency_key_reused": {
            "nl": "Deze Idempotency-Key is al gebruikt voor een ander verzoek. Gebruik een nieuwe sleutel.",
            "en": "This Idempotency-Key was already used for a different request. Use a new key.",
        },
        "request_not_decidable": {
            "nl": "Over deze aanvraag is al besloten (status {state}).",
            "en": "This request has already been decided (state {state}).",
        },
        "no_open_illness": {
            "nl": "Er is geen ziekmelding om af te sluiten.",
            "en": "There is no illness report to end.",
        },
        "alternative_not_offered": {
            "nl": "{day} is niet een van de voorkeursdagen van de ouder.",
            "en": "{day} is not one of the parent's preferred days.",
        },
        "closing_day_exists": {
            "nl": "Op {day} is al een sluitingsdag vastgelegd.",
            "en": "A closing day is already recorded on {day}.",
        },
        "staff_rejected": {
            "nl": "Afgewezen door de opvang.",
            "en": "Rejected by the centre.",
        },
        "feed_title": {"nl": "Opvang {name}", "en": "Childcare {name}"},
        "feed_care": {"nl": "Opvang ({dayparts})", "en": "Childcare ({dayparts})"},
        "feed_closed": {"nl": "Gesloten: {name}", "en": "Closed: {name}"},
        "feed_closed_plain": {"nl": "Opvang gesloten", "en": "Centre closed"},
        "daypart_morning": {"nl": "ochtend", "en": "morning"},
        "daypart_afternoon": {"nl": "middag", "en": "afternoon"},
        "daypart_whole_day": {"nl": "hele dag", "en": "whole day"},
        "daypart_before_school": {"nl": "voorschools", "en": "before school"},
        "daypart_after_school": {"nl": "naschools", "en": "after school"},
        "daypart_holiday": {"nl": "vakantieopvang", "en": "holiday care"},
    }
)


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def rejection_error(rejection: Rejection) -> Unprocessable:
    """Turn a domain rejection into a 422 error with its Dutch and English message."""
    messages = {
        language: rejection_messages.render(rejection.code, language, **rejection.params)
        for language in rejection_messages.LANGUAGES
    }
    params = {name: _json_safe(value) for name, value in rejection.params.items()}
    return Unprocessable(rejection.code.value, messages=messages, params=params)
