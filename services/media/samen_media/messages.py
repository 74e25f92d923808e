"""Texts of the media service in Dutch and English."""

from samen_common import i18n
from samen_media.imaging import CorruptImage, ImageTooLarge, ImagingError, UnsupportedImage
from samen_media.storage import StorageUnavailable

# The imaging and storage errors carry their own staff texts; register them under their codes so
# a failed photo's `failure_code` renders in both languages later on.
i18n.register(
    {
        error.code: dict(error.messages)
        for error in (ImagingError, UnsupportedImage, ImageTooLarge, CorruptImage, StorageUnavailable)
    }
)

i18n.register(
    {
        "photo_upload_missing": {
            "nl": "Het geüploade bestand is niet gevonden. Upload de foto opnieuw.",
            "en": "The uploaded file was not found. Upload the photo again.",
        },
        "photo_upload_expired": {
            "nl": "Deze uploadlink is verlopen of al gebruikt. Vraag een nieuwe aan.",
            "en": "This upload link has expired or was already used. Request a new one.",
        },
        "photo_no_files": {
            "nl": "Kies minstens één foto om te uploaden.",
            "en": "Choose at least one photo to upload.",
        },
        "photo_too_many_files": {
            "nl": "Upload hoogstens {limit} foto's tegelijk.",
            "en": "Upload at most {limit} photos at once.",
        },
        "photo_not_ready": {
            "nl": "Deze foto wordt nog verwerkt of kon niet worden verwerkt.",
            "en": "This photo is still being processed or could not be processed.",
        },
        "photo_blocked_no_consent": {
            "nl": "Geblokkeerd: geen toestemming voor beeldmateriaal van {names}.",
            "en": "Blocked: no photo consent for {names}.",
        },
        "photo_invalid_cursor": {
            "nl": "De paginaverwijzing (cursor) is ongeldig. Begin opnieuw bij de eerste pagina.",
            "en": "The page cursor is invalid. Start again at the first page.",
        },
        "photo_invalid_date_range": {
            "nl": "De begindatum ligt na de einddatum.",
            "en": "The start date is after the end date.",
        },
        "photo_zip_too_many": {
            "nl": "Deze periode bevat meer dan {limit} foto's. Kies een kortere periode.",
            "en": "This period holds more than {limit} photos. Choose a shorter period.",
        },
        "photo_activity_text_too_long": {
            "nl": "De activiteit mag hoogstens 200 tekens lang zijn.",
            "en": "The activity must be at most 200 characters long.",
        },
        "photo_label_name_invalid": {
            "nl": "Geef de activiteit een naam van 1 tot 100 tekens, in het Nederlands en het Engels.",
            "en": "Give the activity a name of 1 to 100 characters, in Dutch and in English.",
        },
    }
)
