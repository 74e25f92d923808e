"""Texts of the messaging service in Dutch and English."""

from samen_common import i18n

i18n.register(
    {
        "message_empty": {
            "nl": "Het bericht is leeg. Schrijf een tekst.",
            "en": "The message is empty. Write some text.",
        },
        "message_too_long": {
            "nl": "Het bericht is te lang: {length} tekens, maximaal {limit}.",
            "en": "The message is too long: {length} characters, at most {limit}.",
        },
        "too_many_photos": {
            "nl": "Te veel foto's: maximaal {limit}.",
            "en": "Too many photos: at most {limit}.",
        },
        "photo_not_available": {
            "nl": "Foto {photo_id} bestaat niet of je mag hem niet gebruiken.",
            "en": "Photo {photo_id} does not exist or you may not use it.",
        },
        "message_notice_open": {
            "nl": "Berichten worden beantwoord zodra de zorg voor de kinderen het toelaat. "
                  "Is het dringend? Bel dan de locatie.",
            "en": "Messages are answered when caring for the children allows. "
                  "Is it urgent? Please phone the location.",
        },
        "message_notice_closed": {
            "nl": "Berichten worden beantwoord zodra de zorg voor de kinderen het toelaat. "
                  "De locatie is nu gesloten; de medewerkers lezen je bericht vanaf {when}. "
                  "Is het dringend? Bel dan de locatie.",
            "en": "Messages are answered when caring for the children allows. "
                  "The location is closed now, so staff will read your message from {when}. "
                  "Is it urgent? Please phone the location.",
        },
        "notebook_entry_empty": {
            "nl": "De notitie is leeg. Vul een tekst, een onderdeel van de dag of een foto in.",
            "en": "The entry is empty. Add text, an item of the day or a photo.",
        },
        "notebook_entry_too_long": {
            "nl": "De tekst is te lang: {length} tekens, maximaal {limit}.",
            "en": "The text is too long: {length} characters, at most {limit}.",
        },
        "notebook_item_unknown": {
            "nl": "Onbekend onderdeel van de dag: {item}. Kies uit {allowed}.",
            "en": "Unknown item of the day: {item}. Choose from {allowed}.",
        },
        "notebook_item_too_long": {
            "nl": "Het onderdeel {item} is te lang (maximaal {limit} tekens).",
            "en": "The item {item} is too long (at most {limit} characters).",
        },
        "notebook_guardian_entries_off": {
            "nl": "Je organisatie staat niet toe dat ouders zelf in het schriftje schrijven.",
            "en": "Your organisation does not allow parents to write in the notebook.",
        },
        "notebook_children_missing": {
            "nl": "Kies ten minste één kind.",
            "en": "Choose at least one child.",
        },
        "too_many_children": {
            "nl": "Te veel kinderen tegelijk: maximaal {limit}.",
            "en": "Too many children at once: at most {limit}.",
        },
        "reaction_empty": {
            "nl": "De reactie is leeg.",
            "en": "The reaction is empty.",
        },
        "keepsake_storage_unavailable": {
            "nl": "Het schriftje kon niet worden opgeslagen om te downloaden. Probeer het over een paar minuten opnieuw.",
            "en": "The notebook could not be stored for download. Try again in a few minutes.",
        },
        "keepsake_too_large": {
            "nl": "Het schriftje van deze periode is te groot om te downloaden. Kies een kortere periode.",
            "en": "The notebook of this period is too large to download. Choose a shorter period.",
        },
        "news_title_missing": {
            "nl": "Het nieuwsbericht heeft een titel en een tekst nodig.",
            "en": "A news item needs a title and a text.",
        },
        "news_role_required": {
            "nl": "Alleen een coördinator, unitmanager of beheerder mag nieuws voor een locatie of de hele organisatie plaatsen.",
            "en": "Only a coordinator, unit manager or administrator may post news for a location or the whole organisation.",
        },
        "attachment_too_many": {
            "nl": "Een nieuwsbericht heeft maximaal {limit} bijlagen.",
            "en": "A news item has at most {limit} attachments.",
        },
        "documents_role_required": {
            "nl": "Alleen een coördinator, unitmanager of beheerder mag documenten en de oudercommissie beheren.",
            "en": "Only a coordinator, unit manager or administrator may manage documents and the parent committee.",
        },
        "document_title_missing": {
            "nl": "Het document heeft een titel nodig van maximaal {limit} tekens.",
            "en": "The document needs a title of at most {limit} characters.",
        },
        "document_period_invalid": {
            "nl": "Ongeldige periode {value} voor een {kind}; gebruik {expected}.",
            "en": "Invalid period {value} for a {kind}; use {expected}.",
        },
        "document_upload_missing": {
            "nl": "Het geüploade bestand is niet gevonden in de opslag. Upload het opnieuw.",
            "en": "The uploaded file was not found in storage. Upload it again.",
        },
        "document_storage_unavailable": {
            "nl": "De opslag van documenten is even niet bereikbaar. Probeer het over een paar minuten opnieuw.",
            "en": "Document storage is not reachable right now. Try again in a few minutes.",
        },
        "committee_member_invalid": {
            "nl": "Lid {position} van de oudercommissie heeft een naam nodig (maximaal {limit} tekens) en een rol van maximaal {limit} tekens.",
            "en": "Member {position} of the parent committee needs a name (at most {limit} characters) and a role of at most {limit} characters.",
        },
        "committee_too_many_members": {
            "nl": "Een oudercommissie heeft maximaal {limit} leden in het portaal.",
            "en": "A parent committee has at most {limit} members in the portal.",
        },
        "committee_email_invalid": {
            "nl": "Het e-mailadres {value} is ongeldig.",
            "en": "The e-mail address {value} is invalid.",
        },
        "invalid_cursor": {
            "nl": "De cursor is ongeldig. Begin opnieuw bij de eerste pagina.",
            "en": "The cursor is invalid. Start again from the first page.",
        },
        "invalid_date": {
            "nl": "Ongeldige datum {value} voor {field}; gebruik JJJJ-MM-DD.",
            "en": "Invalid date {value} for {field}; use YYYY-MM-DD.",
        },
        "date_out_of_range": {
            "nl": "De datum {value} in {field} ligt buiten het bereik {earliest} tot en met {latest}.",
            "en": "The date {value} in {field} is outside the range {earliest} to {latest}.",
        },
        "period_reversed": {
            "nl": "De einddatum {end} ligt vóór de begindatum {start}.",
            "en": "The end date {end} is before the start date {start}.",
        },
        "period_too_long": {
            "nl": "De periode van {start} tot en met {end} is te lang: maximaal {limit} dagen. Kies een kortere periode.",
            "en": "The period from {start} to {end} is too long: at most {limit} days. Choose a shorter period.",
        },
        "time_out_of_range": {
            "nl": "Het tijdstip {value} in {field} moet liggen tussen {earliest} en {latest}.",
            "en": "The time {value} in {field} must lie between {earliest} and {latest}.",
        },
        "timeline_checked_in": {
            "nl": "{child} is om {time} gebracht.",
            "en": "{child} was dropped off at {time}.",
        },
        "timeline_checked_out": {
            "nl": "{child} is om {time} opgehaald.",
            "en": "{child} was collected at {time}.",
        },
        "timeline_checked_out_by": {
            "nl": "{child} is om {time} opgehaald door {collected_by}.",
            "en": "{child} was collected at {time} by {collected_by}.",
        },
    }
)
