"""Texts that people read, in Dutch (the default) and English.

Each service registers its own catalogue of message keys. A message is rendered with
`str.format` parameters, so a catalogue entry reads like `"Kind {name} niet gevonden."`.
"""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"

_catalogue: dict[str, dict[str, str]] = {}


def register(messages: Mapping[str, Mapping[str, str]]) -> None:
    """Add message keys to the process-wide catalogue; every key needs both languages."""
    for key, texts in messages.items():
        missing = [lang for lang in LANGUAGES if not texts.get(lang)]
        if missing:
            raise ValueError(f"message {key!r} has no text for {', '.join(missing)}")
        _catalogue[key] = dict(texts)


def has(key: str) -> bool:
    return key in _catalogue


def normalise_language(value: str | None) -> str:
    """Map a language tag such as `en-GB` to a supported language, defaulting to Dutch."""
    if not value:
        return DEFAULT_LANGUAGE
    primary = value.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


def pick_language(accept_language: str | None) -> str:
    """Choose a language from an `Accept-Language` header by its quality values."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower().split("-")[0]
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag in LANGUAGES and quality > 0:
            ranked.append((-quality, position, tag))
    if not ranked:
        return DEFAULT_LANGUAGE
    return sorted(ranked)[0][2]


_UNITS = {
    "nl": (("seconde", "seconden"), ("minuut", "minuten"), ("uur", "uur")),
    "en": (("second", "seconds"), ("minute", "minutes"), ("hour", "hours")),
}


def format_duration(seconds: int, language: str) -> str:
    """Return a wait such as "1 seconde", "15 minuten" or "2 hours", rounded up."""
    seconds = max(0, int(seconds))
    second, minute, hour = _UNITS[normalise_language(language)]
    if seconds < 60:
        count, names = seconds, second
    elif seconds < 3600:
        count, names = -(-seconds // 60), minute
    else:
        count, names = -(-seconds // 3600), hour
    return f"{count} {names[0] if count == 1 else names[1]}"


def translate(key: str, language: str | None = None, **params: object) -> str:
    language = normalise_language(language)
    texts = _catalogue.get(key)
    if texts is None:
        return key
    if "seconds" in params and "wait" not in params:
        try:
            params["wait"] = format_duration(int(params["seconds"]), language)
        except (TypeError, ValueError):
            pass
    template = texts[language]
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


def render_all(key: str, **params: object) -> dict[str, str]:
    """Render one message key in every supported language."""
    return {lang: translate(key, lang, **params) for lang in LANGUAGES}


register(
    {
        "internal_error": {
            "nl": "Er ging iets mis aan onze kant. Probeer het later opnieuw.",
            "en": "Something went wrong on our side. Please try again later.",
        },
        "not_found": {
            "nl": "Niet gevonden.",
            "en": "Not found.",
        },
        "invalid_input": {
            "nl": "De invoer is ongeldig.",
            "en": "The input is invalid.",
        },
        "unauthorized": {
            "nl": "Je bent niet (meer) ingelogd. Log opnieuw in.",
            "en": "You are not logged in (any more). Please log in again.",
        },
        "forbidden": {
            "nl": "Je hebt geen toestemming voor deze actie.",
            "en": "You are not allowed to do this.",
        },
        "conflict": {
            "nl": "Dit conflicteert met een eerdere wijziging.",
            "en": "This conflicts with an earlier change.",
        },
        "service_unavailable": {
            "nl": "De dienst is even niet bereikbaar. Probeer het over een paar seconden opnieuw.",
            "en": "The service is briefly unavailable. Please try again in a few seconds.",
        },
        "request_expired": {
            "nl": "Het verzoek duurde te lang en is afgebroken. Probeer het opnieuw.",
            "en": "The request took too long and was dropped. Please try again.",
        },
        "too_many_requests": {
            "nl": "Te veel pogingen. Wacht {wait} en probeer het opnieuw.",
            "en": "Too many attempts. Wait {wait} and try again.",
        },
        "naive_timestamp": {
            "nl": "Tijdstip {value} heeft geen tijdzone. Geef een tijdzone op, bijvoorbeeld +01:00.",
            "en": "Timestamp {value} has no time zone. Include one, for example +01:00.",
        },
    }
)
