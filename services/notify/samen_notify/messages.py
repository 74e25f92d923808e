"""Texts of the notify service in Dutch and English: pushes, e-mail subjects and API errors.

Texts name a child by first name only and never carry the content of an item (a message, a
notebook line, the reason of an absence), because a push shows on a locked screen.
"""

from samen_common import i18n

i18n.register(
    {
        # Push titles and e-mail subjects, one item.
        "notify.photos.one": {"nl": "Nieuwe foto van {names}", "en": "New photo of {names}"},
        "notify.notebook.one": {"nl": "Nieuw in het schriftje van {names}", "en": "New notebook entry for {names}"},
        "notify.messages.one": {"nl": "Er is een nieuw bericht over {names}", "en": "There is a new message about {names}"},
        "notify.news.one": {"nl": "Er is nieuws van de opvang", "en": "There is news from your childcare"},
        "notify.requests.one": {"nl": "Je aanvraag voor {names} is {state}", "en": "Your request for {names} was {state}"},
        "notify.documents.one": {"nl": "Er staat een nieuw document voor je klaar", "en": "A new document is ready for you"},
        # Several items of one subject within the digest window.
        "notify.photos.many": {"nl": "{count} nieuwe foto's van {names}", "en": "{count} new photos of {names}"},
        "notify.notebook.many": {
            "nl": "{count} nieuwe notities in het schriftje van {names}",
            "en": "{count} new notebook entries for {names}",
        },
        "notify.messages.many": {"nl": "{count} nieuwe berichten over {names}", "en": "{count} new messages about {names}"},
        "notify.news.many": {"nl": "{count} nieuwe nieuwsberichten", "en": "{count} new news items"},
        "notify.requests.many": {
            "nl": "{count} aanvragen voor {names} zijn behandeld",
            "en": "{count} requests for {names} were handled",
        },
        "notify.documents.many": {
            "nl": "Er staan {count} nieuwe documenten voor je klaar",
            "en": "{count} new documents are ready for you",
        },
        "notify.body": {"nl": "Open Samen om het te bekijken.", "en": "Open Samen to see it."},
        "notify.request_state.approved": {"nl": "goedgekeurd", "en": "approved"},
        "notify.request_state.rejected": {"nl": "afgewezen", "en": "rejected"},
        "notify.request_state.other": {"nl": "behandeld", "en": "handled"},
        "notify.names.and": {"nl": "en", "en": "and"},
        "notify.names.nobody": {"nl": "je kind", "en": "your child"},
        # E-mail subjects of account mail.
        "mail.password_reset.subject": {"nl": "Je wachtwoord opnieuw instellen", "en": "Reset your password"},
        "mail.password_changed.subject": {"nl": "Je wachtwoord is gewijzigd", "en": "Your password was changed"},
        # API errors.
        "notify.account_mail_fixed": {
            "nl": "Beveiligingsmails over je account worden altijd verstuurd en kunnen niet uit.",
            "en": "Security e-mails about your account are always sent and cannot be switched off.",
        },
        "notify.unknown_subject": {
            "nl": "Onbekend onderwerp {subject}. Kies uit: {choices}.",
            "en": "Unknown subject {subject}. Choose from: {choices}.",
        },
        "notify.invalid_quiet_hours": {
            "nl": "Stille uren {value} zijn ongeldig. Gebruik UU:MM, bijvoorbeeld 21:00.",
            "en": "Quiet hours {value} are invalid. Use HH:MM, for example 21:00.",
        },
        "notify.invalid_device": {
            "nl": "Het apparaat is ongeldig: {problem}.",
            "en": "The device is invalid: {problem}.",
        },
        "notify.invalid_cursor": {
            "nl": "De paginacursor is ongeldig. Begin opnieuw zonder cursor.",
            "en": "The page cursor is invalid. Start again without a cursor.",
        },
    }
)


def join_names(names: list[str], language: str) -> str:
    """Join first names as "Sam", "Sam en Lisa", "Sam, Lisa en Noor"; a generic phrase when empty."""
    names = [name for name in names if name]
    if not names:
        return i18n.translate("notify.names.nobody", language)
    if len(names) == 1:
        return names[0]
    conjunction = i18n.translate("notify.names.and", language)
    return f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


def request_state_word(state: str | None, language: str) -> str:
    key = f"notify.request_state.{state}" if state in ("approved", "rejected") else "notify.request_state.other"
    return i18n.translate(key, language)


def notification_title(subject: str, count: int, names: list[str], language: str, state: str | None = None) -> str:
    """Render the push title (and e-mail subject) of `count` items of one subject."""
    key = f"notify.{subject}.{'one' if count == 1 else 'many'}"
    return i18n.translate(
        key, language, count=count, names=join_names(names, language), state=request_state_word(state, language)
    )
