"""Notification subjects, channels and the default of each switch."""

from __future__ import annotations

import enum


class Subject(enum.StrEnum):
    PHOTOS = "photos"
    """New photos in which the guardian's child is tagged."""
    NOTEBOOK = "notebook"
    """New entries in a child's notebook (schriftje)."""
    MESSAGES = "messages"
    """New messages in a thread about a child."""
    NEWS = "news"
    """News items for the organisation, a location or a group."""
    REQUESTS = "requests"
    """A decision on an absence, day or swap-day request."""
    DOCUMENTS = "documents"
    """A new invoice or annual statement for the guardian."""
    ACCOUNT = "account"
    """Security mail (password reset, password changed); always sent by e-mail, never switched off."""


class Channel(enum.StrEnum):
    PUSH = "push"
    EMAIL = "email"


# Subjects a person may switch per channel; account mail is fixed.
CONFIGURABLE_SUBJECTS = (Subject.PHOTOS, Subject.NOTEBOOK, Subject.MESSAGES, Subject.NEWS, Subject.REQUESTS,
                         Subject.DOCUMENTS)

# Push for everything; e-mail only for what is rarer or more important than a photo or a
# notebook line, so that a default inbox is not flooded.
DEFAULTS: dict[tuple[Subject, Channel], bool] = {
    (Subject.PHOTOS, Channel.PUSH): True,
    (Subject.PHOTOS, Channel.EMAIL): False,
    (Subject.NOTEBOOK, Channel.PUSH): True,
    (Subject.NOTEBOOK, Channel.EMAIL): False,
    (Subject.MESSAGES, Channel.PUSH): True,
    (Subject.MESSAGES, Channel.EMAIL): True,
    (Subject.NEWS, Channel.PUSH): True,
    (Subject.NEWS, Channel.EMAIL): True,
    (Subject.REQUESTS, Channel.PUSH): True,
    (Subject.REQUESTS, Channel.EMAIL): True,
    (Subject.DOCUMENTS, Channel.PUSH): True,
    (Subject.DOCUMENTS, Channel.EMAIL): True,
    (Subject.ACCOUNT, Channel.PUSH): False,
    (Subject.ACCOUNT, Channel.EMAIL): True,
}


def effective(stored: dict[tuple[str, str], bool], subject: str, channel: str) -> bool:
    """Return whether `subject` goes out on `channel`, from stored switches and the defaults."""
    if subject == Subject.ACCOUNT:
        return DEFAULTS[(Subject.ACCOUNT, Channel(channel))]
    return stored.get((subject, channel), DEFAULTS[(Subject(subject), Channel(channel))])
