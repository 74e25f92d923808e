"""Texts of the samen-staff tool in Dutch (the default) and English."""

from samen_common import i18n

i18n.register(
    {
        "staff.description": {
            "nl": "Stuur gebeurtenissen uit het planningssysteem, de kiosk of het coördinatorenoverzicht naar Samen. "
                  "Elke opdracht controleert de gegevens eerst en meldt daarna welke gebeurtenissen Samen heeft ontvangen.",
            "en": "Send events from the planning system, the kiosk or the coordinator's tool to Samen. "
                  "Each command checks the data first and then reports which events Samen received.",
        },
        "staff.epilog": {
            "nl": "De verbinding komt uit SAMEN_STAFF_AMQP_URI, bijvoorbeeld amqp://planning:wachtwoord@127.0.0.1:5672/samen. "
                  "Met --csv BESTAND stuurt een opdracht één gebeurtenis per regel; de kolommen heten zoals de opties zonder streepjes.",
            "en": "The connection comes from SAMEN_STAFF_AMQP_URI, for example amqp://planning:password@127.0.0.1:5672/samen. "
                  "With --csv FILE a command sends one event per row; the columns are named like the options without dashes.",
        },
        "opt.lang": {"nl": "taal van de uitvoer: nl of en (standaard uit LANG)", "en": "language of the output: nl or en (default from LANG)"},
        "opt.actor": {
            "nl": "jouw accountnummer als medewerker; Samen controleert of jij dit mag (of SAMEN_STAFF_ACTOR)",
            "en": "your staff account number; Samen checks that you may do this (or SAMEN_STAFF_ACTOR)",
        },
        "opt.csv": {"nl": "CSV-bestand met één gebeurtenis per regel", "en": "CSV file with one event per row"},
        "opt.event_id": {
            "nl": "id van de gebeurtenis; gebruik hetzelfde id om een gebeurtenis veilig opnieuw te sturen",
            "en": "event id; send an event again safely by reusing its id",
        },
        "opt.occurred_at": {
            "nl": "wanneer het gebeurde, ISO 8601 met tijdzone (standaard nu); een oudere wijziging overschrijft nooit een nieuwere",
            "en": "when it happened, ISO 8601 with a time zone (default now); an older change never overwrites a newer one",
        },
        "opt.dry_run": {"nl": "alleen controleren, niets versturen", "en": "only check, send nothing"},
        "cmd.enrol-child": {
            "nl": "Een kind begint met opvang: het kind, de ouders of verzorgers en de eerste plaatsing.",
            "en": "A child starts care: the child, the parents or guardians and the first placement.",
        },
        "cmd.change-placement": {
            "nl": "Een plaatsing is nieuw of veranderd: groep, opvangsoort, dagen, dagdelen of data.",
            "en": "A placement is new or changed: group, type of care, days, dayparts or dates.",
        },
        "cmd.end-care": {
            "nl": "De opvang van een kind stopt na de einddatum; daarna vervalt ook de toestemming voor beeldmateriaal.",
            "en": "A child's care stops after the end date; photo consent ends with it.",
        },
        "cmd.add-guardian": {
            "nl": "Een ouder of verzorger krijgt toegang tot een kind; een nieuw accountnummer maakt een account aan.",
            "en": "A parent or guardian gets access to a child; a new account number creates an account.",
        },
        "cmd.remove-guardian": {
            "nl": "Een ouder of verzorger verliest de toegang tot een kind.",
            "en": "A parent or guardian loses access to a child.",
        },
        "cmd.record-consent": {
            "nl": "Een ouder geeft of trekt toestemming voor beeldmateriaal in; een 'nee' van één ouder wint.",
            "en": "A parent gives or withdraws photo consent; a 'no' from any parent wins.",
        },
        "cmd.check-in": {"nl": "Een kind is binnengekomen op de groep.", "en": "A child has arrived at the group."},
        "cmd.check-out": {
            "nl": "Een kind is opgehaald; vul in wie het kind ophaalde.",
            "en": "A child was collected; fill in who collected the child.",
        },
        "cmd.publish-news": {
            "nl": "Nieuws plaatsen voor de organisatie, een locatie of een groep.",
            "en": "Publish news for the organisation, a location or a group.",
        },
        "cmd.add-closing-day": {
            "nl": "Een sluitingsdag toevoegen voor een locatie of één groep; die dag zijn geen aanvragen mogelijk.",
            "en": "Add a closing day for a location or one group; no requests are possible that day.",
        },
        "opt.child_ref": {"nl": "referentie van het kind in het planningssysteem", "en": "the child's reference in the planning system"},
        "opt.first_name": {"nl": "voornaam van het kind", "en": "the child's first name"},
        "opt.last_name": {"nl": "achternaam van het kind", "en": "the child's last name"},
        "opt.birth_date": {"nl": "geboortedatum, JJJJ-MM-DD", "en": "date of birth, YYYY-MM-DD"},
        "opt.guardian": {
            "nl": "ouder als ACCOUNTNUMMER:NAAM[:E-MAIL[:TAAL]]; herhaal voor meer ouders (in CSV gescheiden door |)",
            "en": "guardian as ACCOUNT_NUMBER:NAME[:EMAIL[:LANGUAGE]]; repeat for more guardians (in CSV separated by |)",
        },
        "opt.placement_ref": {"nl": "referentie van de plaatsing in het planningssysteem", "en": "the placement's reference in the planning system"},
        "opt.group_ref": {"nl": "referentie van de groep in het planningssysteem", "en": "the group's reference in the planning system"},
        "opt.care_type": {
            "nl": "opvangsoort: daycare, before_school, after_school of holiday_care",
            "en": "type of care: daycare, before_school, after_school or holiday_care",
        },
        "opt.weekdays": {"nl": "contractdagen als getallen, 1 is maandag, bijvoorbeeld 1,2,4", "en": "contract days as numbers, 1 is Monday, for example 1,2,4"},
        "opt.dayparts": {
            "nl": "dagdelen, bijvoorbeeld whole_day of morning,afternoon",
            "en": "dayparts, for example whole_day or morning,afternoon",
        },
        "opt.start": {"nl": "eerste dag, JJJJ-MM-DD", "en": "first day, YYYY-MM-DD"},
        "opt.end": {"nl": "laatste dag, JJJJ-MM-DD (leeg: geen einddatum)", "en": "last day, YYYY-MM-DD (empty: no end date)"},
        "opt.end_date": {"nl": "laatste opvangdag, JJJJ-MM-DD", "en": "last day of care, YYYY-MM-DD"},
        "opt.account_number": {"nl": "accountnummer van de ouder", "en": "the guardian's account number"},
        "opt.name": {"nl": "volledige naam van de ouder", "en": "the guardian's full name"},
        "opt.email": {"nl": "e-mailadres van de ouder", "en": "the guardian's e-mail address"},
        "opt.language": {"nl": "taal van de ouder: nl of en", "en": "the guardian's language: nl or en"},
        "opt.relation": {"nl": "relatie tot het kind, bijvoorbeeld parent", "en": "relation to the child, for example parent"},
        "opt.granted": {"nl": "yes als de ouder toestemming geeft, no als die wordt ingetrokken", "en": "yes when the guardian gives consent, no when it is withdrawn"},
        "opt.child_id": {"nl": "id van het kind in Samen", "en": "the child's id in Samen"},
        "opt.group_id": {"nl": "id van de groep in Samen", "en": "the group's id in Samen"},
        "opt.at": {"nl": "tijdstip, ISO 8601 met tijdzone (standaard nu)", "en": "time, ISO 8601 with a time zone (default now)"},
        "opt.collected_by": {"nl": "naam van wie het kind ophaalde", "en": "name of the person who collected the child"},
        "opt.title": {"nl": "titel van het nieuwsbericht", "en": "title of the news item"},
        "opt.body": {"nl": "tekst van het nieuwsbericht", "en": "text of the news item"},
        "opt.kind_news": {"nl": "item of newsletter", "en": "item or newsletter"},
        "opt.location_ids": {"nl": "ids van locaties, met komma's; leeg met lege groepen: de hele organisatie", "en": "location ids, comma-separated; empty with empty groups: the whole organisation"},
        "opt.group_ids": {"nl": "ids van groepen, met komma's", "en": "group ids, comma-separated"},
        "opt.publish_at": {"nl": "later publiceren op dit tijdstip, ISO 8601 met tijdzone", "en": "publish later at this time, ISO 8601 with a time zone"},
        "opt.location_id": {"nl": "id van de locatie in Samen", "en": "the location's id in Samen"},
        "opt.day": {"nl": "de gesloten dag, JJJJ-MM-DD", "en": "the closed day, YYYY-MM-DD"},
        "opt.kind_closing": {"nl": "planned (gepland) of ad_hoc", "en": "planned or ad_hoc"},
        "opt.name_nl": {"nl": "naam van de sluitingsdag in het Nederlands", "en": "name of the closing day in Dutch"},
        "opt.name_en": {"nl": "naam van de sluitingsdag in het Engels", "en": "name of the closing day in English"},
        "out.invalid": {"nl": "Ongeldig{where}: {field}: {problem}", "en": "Invalid{where}: {field}: {problem}"},
        "out.row": {"nl": " (regel {row})", "en": " (row {row})"},
        "out.nothing_sent": {"nl": "Niets verstuurd, want {count} gebeurtenis(sen) zijn ongeldig.", "en": "Nothing sent, because {count} event(s) are invalid."},
        "out.valid": {"nl": "Geldig: {event_type} {event_id}", "en": "Valid: {event_type} {event_id}"},
        "out.accepted": {"nl": "Ontvangen: {event_type} {event_id} ({routing_key})", "en": "Accepted: {event_type} {event_id} ({routing_key})"},
        "out.unroutable": {
            "nl": "Niet afgeleverd: {event_type} {event_id}: geen wachtrij voor {routing_key}. Vraag beheer de wachtrijen aan te maken.",
            "en": "Not delivered: {event_type} {event_id}: no queue for {routing_key}. Ask operations to declare the queues.",
        },
        "out.refused": {
            "nl": "Geweigerd door de broker: {event_type} {event_id}: dit account mag {routing_key} niet sturen ({detail}).",
            "en": "Refused by the broker: {event_type} {event_id}: this account may not send {routing_key} ({detail}).",
        },
        "out.nacked": {"nl": "Niet opgeslagen door de broker: {event_type} {event_id}. Probeer het opnieuw.", "en": "Not stored by the broker: {event_type} {event_id}. Try again."},
        "out.no_uri": {"nl": "SAMEN_STAFF_AMQP_URI is niet ingesteld.", "en": "SAMEN_STAFF_AMQP_URI is not set."},
        "out.bad_uri": {"nl": "SAMEN_STAFF_AMQP_URI is ongeldig: gebruik amqp://gebruiker:wachtwoord@host:poort/vhost.", "en": "SAMEN_STAFF_AMQP_URI is invalid: use amqp://user:password@host:port/vhost."},
        "out.connect_failed": {"nl": "Verbinden met de broker mislukt: {error}", "en": "Connecting to the broker failed: {error}"},
        "out.no_actor": {"nl": "Geef --actor of SAMEN_STAFF_ACTOR op.", "en": "Give --actor or set SAMEN_STAFF_ACTOR."},
        "out.csv_failed": {"nl": "CSV-bestand {path} lezen mislukt: {error}", "en": "Reading CSV file {path} failed: {error}"},
        "out.missing_option": {"nl": "Verplicht veld ontbreekt{where}: {field}", "en": "Required field missing{where}: {field}"},
        "out.summary": {"nl": "{accepted} van {total} gebeurtenis(sen) ontvangen.", "en": "{accepted} of {total} event(s) accepted."},
    }
)
