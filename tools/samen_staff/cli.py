"""samen-staff: send staff-tool events to Samen from arguments or a CSV file.

    SAMEN_STAFF_AMQP_URI=amqp://planning:...@127.0.0.1:5672/samen \\
        samen-staff end-care --actor 900002 --child-ref child-007 --end-date 2027-07-31

Every event is validated against its contract before anything is sent. With a CSV file either
every row is valid and all rows are sent, or nothing is sent.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import uuid
from pathlib import Path

from marshmallow import ValidationError

from samen_common import i18n
from samen_common.contracts import staff_contract
from samen_common.timeutil import utcnow
from samen_staff import texts  # noqa: F401 - registers the tool's texts
from samen_staff.commands import COMMANDS, COMMANDS_BY_NAME, Command, parse_value

EXIT_INVALID = 1
EXIT_NOT_DELIVERED = 3
ENVELOPE_COLUMNS = ("actor", "event_id", "occurred_at")


def choose_language(argv: list[str]) -> str:
    """Take the language from `--lang`, else from LANG, else Dutch."""
    for index, arg in enumerate(argv):
        if arg == "--lang" and index + 1 < len(argv):
            return i18n.normalise_language(argv[index + 1])
        if arg.startswith("--lang="):
            return i18n.normalise_language(arg.split("=", 1)[1])
    return i18n.normalise_language(os.environ.get("LANG"))


def build_parser(lang: str) -> argparse.ArgumentParser:
    def t(key: str) -> str:
        return i18n.translate(key, lang)

    parser = argparse.ArgumentParser(
        prog="samen-staff", description=t("staff.description"), epilog=t("staff.epilog"),
    )
    parser.add_argument("--lang", choices=i18n.LANGUAGES, default=lang, help=t("opt.lang"))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = commands.add_parser(
            command.name, help=t(f"cmd.{command.name}"), description=t(f"cmd.{command.name}"), epilog=t("staff.epilog"),
        )
        sub.add_argument("--lang", choices=i18n.LANGUAGES, default=argparse.SUPPRESS, help=t("opt.lang"))
        sub.add_argument("--actor", help=t("opt.actor"))
        sub.add_argument("--csv", type=Path, metavar="FILE", help=t("opt.csv"))
        sub.add_argument("--event-id", help=t("opt.event_id"))
        sub.add_argument("--occurred-at", help=t("opt.occurred_at"))
        sub.add_argument("--dry-run", action="store_true", help=t("opt.dry_run"))
        for option in command.options:
            flag = "--" + option.name.replace("_", "-")
            if option.kind == "guardians":
                sub.add_argument(flag, dest=option.name, action="append", help=t(option.help_key))
            else:
                sub.add_argument(flag, dest=option.name, help=t(option.help_key))
    return parser


def read_rows(args: argparse.Namespace, command: Command) -> list[dict]:
    """Return one dict of raw values per event: the CSV rows with the options as defaults, or the options."""
    defaults = {option.name: getattr(args, option.name) for option in command.options}
    defaults.update({"actor": args.actor or os.environ.get("SAMEN_STAFF_ACTOR"), "event_id": args.event_id,
                     "occurred_at": args.occurred_at})
    if args.csv is None:
        return [defaults]
    with args.csv.open(newline="", encoding="utf-8-sig") as handle:
        rows = []
        for row in csv.DictReader(handle):
            values = dict(defaults)
            for column, cell in row.items():
                if column is None or cell in (None, ""):
                    continue
                values[column.strip().lower().replace("-", "_")] = cell
            rows.append(values)
        return rows


def build_event(command: Command, raw: dict) -> tuple[dict | None, list[tuple[str, str]]]:
    """Return the event payload and a list of (field, problem) found before or by the contract."""
    problems: list[tuple[str, str]] = []
    values = {option.name: parse_value(option, raw.get(option.name)) for option in command.options}
    for option in command.options:
        if option.required and values[option.name] is None:
            problems.append((option.name, "missing"))
    if not raw.get("actor"):
        problems.append(("actor", "missing"))
    if problems:
        return None, problems

    contract = staff_contract(command.event_type)
    now = utcnow().isoformat()
    payload = {
        "event_id": raw.get("event_id") or str(uuid.uuid4()),
        "event_type": contract.event_type,
        "schema_version": contract.version,
        "occurred_at": raw.get("occurred_at") or now,
        "actor_account_number": raw["actor"],
        **command.build(values),
    }
    if "at" in contract.payload_fields and "at" not in payload:
        payload["at"] = now
    try:
        contract.load(payload)
    except ValidationError as exc:
        return None, list(_flatten(exc.messages))
    return payload, []


def _flatten(messages, prefix: str = ""):
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages):
        yield prefix, " ".join(messages)
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            yield from _flatten(value, f"{prefix}[{index}]")
    else:
        yield prefix, str(messages)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    lang = choose_language(argv)
    args = build_parser(lang).parse_args(argv)
    lang = args.lang

    def say(key: str, stream=sys.stdout, **params) -> None:
        print(i18n.translate(key, lang, **params), file=stream)

    command = COMMANDS_BY_NAME[args.command]
    try:
        rows = read_rows(args, command)
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        say("out.csv_failed", sys.stderr, path=args.csv, error=exc)
        return EXIT_INVALID

    events, invalid = [], 0
    for number, raw in enumerate(rows, start=1):
        payload, problems = build_event(command, raw)
        where = i18n.translate("out.row", lang, row=number) if args.csv else ""
        # NOTE: the problem texts come from marshmallow and are English in both languages.
        for field_name, problem in problems:
            if problem == "missing":
                say("out.missing_option", sys.stderr, where=where, field=field_name)
            else:
                say("out.invalid", sys.stderr, where=where, field=field_name, problem=problem)
        if problems:
            invalid += 1
        else:
            events.append(payload)
    if invalid:
        say("out.nothing_sent", sys.stderr, count=invalid)
        return EXIT_INVALID
    if args.dry_run:
        for payload in events:
            say("out.valid", event_type=payload["event_type"], event_id=payload["event_id"])
        return 0
    return send(events, command, say)


def send(events: list[dict], command: Command, say) -> int:
    from samen_staff.publisher import StaffPublisher

    uri = os.environ.get("SAMEN_STAFF_AMQP_URI")
    if not uri:
        say("out.no_uri", sys.stderr)
        return EXIT_INVALID
    routing_key = staff_contract(command.event_type).routing_key
    accepted = 0
    try:
        with StaffPublisher(uri) as publisher:
            for payload in events:
                outcome = publisher.publish(payload, routing_key)
                params = {"event_type": outcome.event_type, "event_id": outcome.event_id,
                          "routing_key": outcome.routing_key, "detail": outcome.detail}
                if outcome.accepted:
                    accepted += 1
                    say("out.accepted", **params)
                else:
                    say(f"out.{outcome.problem}", sys.stderr, **params)
    except ValueError:
        say("out.bad_uri", sys.stderr)
        return EXIT_INVALID
    except (OSError, Exception) as exc:  # noqa: BLE001 - any connection failure is reported, not raised
        if not _is_connection_error(exc):
            raise
        say("out.connect_failed", sys.stderr, error=exc)
        return EXIT_NOT_DELIVERED
    say("out.summary", accepted=accepted, total=len(events))
    return 0 if accepted == len(events) else EXIT_NOT_DELIVERED


def _is_connection_error(exc: BaseException) -> bool:
    import amqp

    return isinstance(exc, OSError | amqp.exceptions.AMQPError)


if __name__ == "__main__":
    sys.exit(main())
