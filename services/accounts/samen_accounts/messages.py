"""Texts of the accounts service in Dutch and English."""

from samen_common import i18n

i18n.register(
    {
        "invalid_credentials": {
            "nl": "Accountnummer of wachtwoord klopt niet.",
            "en": "Account number or password is incorrect.",
        },
        "login_throttled": {
            "nl": "Te veel mislukte pogingen. Wacht {wait} en probeer het opnieuw.",
            "en": "Too many failed attempts. Wait {wait} and try again.",
        },
        "refresh_token_invalid": {
            "nl": "Je sessie is verlopen of ingetrokken. Log opnieuw in.",
            "en": "Your session has expired or was revoked. Please log in again.",
        },
        "reset_token_invalid": {
            "nl": "Deze herstellink is ongeldig, verlopen of al gebruikt. Vraag een nieuwe aan.",
            "en": "This reset link is invalid, expired or already used. Request a new one.",
        },
        "current_password_wrong": {
            "nl": "Het huidige wachtwoord klopt niet.",
            "en": "The current password is incorrect.",
        },
        "password_too_short": {
            "nl": "Het wachtwoord moet minstens 8 tekens lang zijn.",
            "en": "The password must be at least 8 characters long.",
        },
        "password_too_long": {
            "nl": "Het wachtwoord mag hoogstens 256 tekens lang zijn.",
            "en": "The password must be at most 256 characters long.",
        },
        "password_common": {
            "nl": "Dit wachtwoord staat in een lijst van veelgebruikte wachtwoorden en is makkelijk te raden. Kies een ander.",
            "en": "This password is in a list of commonly used passwords and is easy to guess. Choose another one.",
        },
        "password_contains_account_number": {
            "nl": "Het wachtwoord mag je accountnummer niet bevatten.",
            "en": "The password must not contain your account number.",
        },
        "password_invalid_characters": {
            "nl": "Het wachtwoord bevat onzichtbare of stuurtekens. Gebruik letters, cijfers, spaties en leestekens.",
            "en": "The password contains invisible or control characters. Use letters, digits, spaces and punctuation.",
        },
        "password_too_simple": {
            "nl": "Het wachtwoord herhaalt te weinig verschillende tekens. Kies een langere zin of meer variatie.",
            "en": "The password repeats too few different characters. Choose a longer phrase or more variety.",
        },
        "password_same_as_current": {
            "nl": "Het nieuwe wachtwoord is gelijk aan het huidige.",
            "en": "The new password is the same as the current one.",
        },
        "unsupported_language": {
            "nl": "Taal {value} wordt niet ondersteund; kies nl of en.",
            "en": "Language {value} is not supported; choose nl or en.",
        },
    }
)
