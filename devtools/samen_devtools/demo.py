"""Demo organisation for development: fixed logins, two locations, five groups, 44 children.

    python -m samen_devtools.demo            # load into the accounts database
    python -m samen_devtools.demo --write F  # only write the export JSON to F

The data goes through the same importer as a real planning-system export. Loading refuses to
run unless SAMEN_ENV is development or test.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import date, timedelta
from pathlib import Path

DEMO_PASSWORD = "Welkom-bij-Samen-2026"

FIRST_NAMES = [
    "Sam", "Noor", "Daan", "Emma", "Luuk", "Julia", "Finn", "Tess", "Milan", "Sara", "Levi", "Zoë",
    "Bram", "Lotte", "Jesse", "Fenna", "Thijs", "Yara", "Sem", "Evi", "Ruben", "Nina", "Mees", "Liv",
    "Stijn", "Isa", "Jens", "Roos", "Lars", "Fleur", "Niels", "Mila", "Koen", "Lieke", "Teun", "Anna",
    "Gijs", "Sofie", "Ties", "Elin", "Boaz", "Hanna", "Pim", "Jasmijn",
]
LAST_NAMES = [
    "de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder",
    "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit",
    "Dijkstra", "Smits", "de Graaf", "van der Meer",
]

OPENING_HOURS = {str(day): ["07:00", "18:30"] for day in range(1, 6)}

LOGINS = [
    ("100001", "guardian", "two children in different groups (Vlinders and Avonturiers)"),
    ("100002", "guardian", "one child without photo consent (in Vlinders)"),
    ("100003", "guardian", "second guardian of 100001's child in Vlinders"),
    ("900001", "staff", "pedagogical staff in Vlinders"),
    ("900002", "staff", "location coordinator of Zonnebloem Centrum"),
    ("900003", "staff", "organisation admin"),
]


def _birth_date(today: date, rng: random.Random, min_months: int, max_months: int) -> str:
    months = rng.randint(min_months, max_months)
    return (today - timedelta(days=int(months * 30.44) + rng.randint(0, 20))).isoformat()


def build_export(today: date | None = None) -> dict:
    """Return the demo organisation as an import export, the same for the same `today`."""
    today = today or date.today()
    rng = random.Random(20261204)
    start = (today - timedelta(days=400)).isoformat()

    groups = [
        {"ref": "grp-rupsjes", "location": "loc-centrum", "name": "Rupsjes", "care_type": "daycare", "max_size": 9},
        {"ref": "grp-vlinders", "location": "loc-centrum", "name": "Vlinders", "care_type": "daycare", "max_size": 12},
        {"ref": "grp-peuters", "location": "loc-centrum", "name": "Peuters", "care_type": "daycare", "max_size": 16},
        {"ref": "grp-dolfijnen", "location": "loc-oost", "name": "Dolfijnen", "care_type": "daycare", "max_size": 14},
        {"ref": "grp-avonturiers", "location": "loc-oost", "name": "Avonturiers", "care_type": "after_school", "max_size": 22},
    ]
    # Age range in months per group, so the staff-to-child ratio has realistic input.
    ages = {
        "grp-rupsjes": (3, 17), "grp-vlinders": (6, 46), "grp-peuters": (24, 46),
        "grp-dolfijnen": (12, 46), "grp-avonturiers": (50, 140),
    }
    after_school = {"grp-avonturiers"}

    children, placements, guardians = [], [], []
    layout = (
        ["grp-vlinders", "grp-avonturiers", "grp-vlinders"]
        + ["grp-rupsjes"] * 7 + ["grp-vlinders"] * 7 + ["grp-peuters"] * 9
        + ["grp-dolfijnen"] * 9 + ["grp-avonturiers"] * 9
    )
    for index, group_ref in enumerate(layout, start=1):
        ref = f"child-{index:03d}"
        low, high = ages[group_ref]
        children.append(
            {
                "ref": ref,
                "first_name": FIRST_NAMES[(index - 1) % len(FIRST_NAMES)],
                "last_name": LAST_NAMES[(index * 7) % len(LAST_NAMES)],
                "birth_date": _birth_date(today, rng, low, high),
                "photo_consent": index != 3,
            }
        )
        weekdays = sorted(rng.sample([1, 2, 3, 4, 5], rng.choice([2, 3, 4])))
        if index in (1, 2, 3):
            weekdays = [1, 2, 4]
        placements.append(
            {
                "ref": f"placement-{index:03d}", "child": ref, "group": group_ref,
                "care_type": "after_school" if group_ref in after_school else "daycare",
                "weekdays": weekdays,
                "dayparts": ["after_school"] if group_ref in after_school else ["whole_day"],
                "start": start,
            }
        )

    guardians.append(_guardian("100001", "Anouk de Vries", ["child-001", "child-002"], "nl"))
    guardians.append(_guardian("100002", "Mark Jansen", ["child-003"], "en"))
    guardians.append(_guardian("100003", "Pieter de Vries", ["child-001"], "nl"))
    for index in range(4, len(layout) + 1):
        guardians.append(_guardian(f"1{index:05d}", f"Ouder van kind {index}", [f"child-{index:03d}"], "nl"))

    staff = [
        _staff("900001", "Fatima El Amrani", [{"role": "pedagogical"}], ["grp-vlinders"]),
        _staff("900002", "Joost Vermeer", [{"role": "coordinator", "location": "loc-centrum"}], []),
        _staff("900003", "Ingrid Kok", [{"role": "admin"}], []),
        _staff("900004", "Ravi Ramdin", [{"role": "pedagogical"}], ["grp-avonturiers"]),
        _staff("900005", "Lisa Hoekstra", [{"role": "pedagogical"}], ["grp-rupsjes", "grp-peuters"]),
        _staff("900006", "Tom Verbeek", [{"role": "coordinator", "location": "loc-oost"}], ["grp-dolfijnen"]),
    ]

    return {
        "format": "samen-organisation-export",
        "version": 1,
        "organisation": {"ref": "org-zonnebloem", "name": "Kinderopvang De Zonnebloem", "settings": {}},
        "locations": [
            {"ref": "loc-centrum", "name": "Zonnebloem Centrum", "address": "Oudegracht 1, Utrecht",
             "phone": "030 123 4567", "opening_hours": OPENING_HOURS},
            {"ref": "loc-oost", "name": "Zonnebloem Oost", "address": "Biltstraat 200, Utrecht",
             "phone": "030 765 4321", "opening_hours": OPENING_HOURS},
        ],
        "groups": groups,
        "children": children,
        "guardians": guardians,
        "staff": staff,
        "placements": placements,
    }


def _guardian(number: str, name: str, children: list[str], language: str) -> dict:
    return {
        "account_number": number, "name": name, "email": f"ouder{number}@example.org",
        "language": language, "password": DEMO_PASSWORD, "children": children,
    }


def _staff(number: str, name: str, roles: list[dict], groups: list[str]) -> dict:
    return {
        "account_number": number, "name": name, "email": f"medewerker{number}@example.org",
        "language": "nl", "password": DEMO_PASSWORD, "roles": roles, "groups": groups,
    }


def load(url: str | None = None, today: date | None = None) -> dict:
    from sqlalchemy.orm import Session

    from samen_accounts.importer import import_organisation
    from samen_common.db import make_engine
    from samen_common.settings import common_settings, database_url

    if not common_settings().is_development:
        raise SystemExit("demo data is loaded only when SAMEN_ENV is development or test")
    engine = make_engine(url or database_url("accounts"), pool_size=1)
    try:
        with Session(engine) as session, session.begin():
            return import_organisation(session, build_export(today), allow_passwords=True)
    finally:
        engine.dispose()


def sync_services(url: str | None = None, amqp_uri: str | None = None, weeks: int = 8) -> dict:
    """Copy the placements to the requests service and put staff on its roster.

    Accounts owns placements; the requests service keeps a copy for capacity checks, filled by
    its idempotent `sync_placements` RPC. The roster gives each group enough staff for its
    planned children on every weekday of the coming `weeks`.
    """
    from nameko.standalone.rpc import ClusterRpcProxy
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from samen_accounts.models import Placement, StaffGroup
    from samen_common.db import make_engine
    from samen_common.settings import common_settings, database_url

    engine = make_engine(url or database_url("accounts"), pool_size=1)
    try:
        with Session(engine) as session:
            placements = [
                {
                    "id": str(p.id), "child_id": str(p.child_id), "group_id": str(p.group_id),
                    "care_type": p.care_type, "weekdays": list(p.weekdays), "dayparts": list(p.dayparts),
                    "start_date": p.start_date.isoformat(),
                    "end_date": p.end_date.isoformat() if p.end_date else None,
                }
                for p in session.scalars(select(Placement))
            ]
            staff_per_group: dict[str, int] = {}
            for link in session.scalars(select(StaffGroup)):
                staff_per_group[str(link.group_id)] = staff_per_group.get(str(link.group_id), 0) + 1
    finally:
        engine.dispose()

    today = date.today()
    roster = []
    for group_id in sorted({p["group_id"] for p in placements}):
        for offset in range(weeks * 7):
            day = today + timedelta(days=offset)
            if day.isoweekday() <= 5:
                roster.append({"group_id": group_id, "day": day.isoformat(), "staff_count": max(3, staff_per_group.get(group_id, 0))})

    config = {"AMQP_URI": amqp_uri or common_settings().amqp_uri, "serializer": "json"}
    with ClusterRpcProxy(config, timeout=60) as cluster:
        placed = cluster.requests.sync_placements(placements)
        rostered = cluster.requests.set_roster(roster)
    return {"placements": placed, "roster": rostered}


def print_logins(gateway_url: str) -> None:
    print(f"\nSamen runs at {gateway_url}  (API: {gateway_url}/api/v1, web portal: {gateway_url}/)")
    print(f"Demo logins (password {DEMO_PASSWORD}):")
    for number, kind, description in LOGINS:
        print(f"  {number}  {kind:8}  {description}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load or write the demo organisation.")
    parser.add_argument("--write", type=Path, help="write the export JSON to this file instead of loading it")
    parser.add_argument("--print-logins", metavar="GATEWAY_URL", help="print the gateway URL and demo logins")
    parser.add_argument(
        "--sync-services", action="store_true",
        help="copy placements and a staff roster to the running requests service",
    )
    args = parser.parse_args(argv)
    if args.sync_services:
        print(f"demo data synced: {sync_services()}")
        return 0
    if args.print_logins:
        print_logins(args.print_logins)
        return 0
    if args.write:
        args.write.write_text(json.dumps(build_export(), indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"wrote {args.write}")
        return 0
    counts = load()
    print("demo data loaded: " + ", ".join(f"{count} {kind}" for kind, count in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
