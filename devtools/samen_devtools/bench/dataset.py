"""A deterministic organisation of a given size, written into the accounts database by COPY.

The full size is that of a large Dutch childcare organisation: 100 locations, 10,000 children
and 18,000 guardians. Guardians get no password, because the benchmark signs access tokens itself.

The rows go straight into the tables that the accounts migrations create, in one transaction on
a connection of its own. The services' engines (`samen_common.db.make_engine`) set a 5 s
`statement_timeout` and a 30 s `idle_in_transaction_session_timeout`, which a data set of this
size loaded record by record through the importer does not fit into. COPY loads it in seconds.
The same size and day give the same rows, ids included.
"""

from __future__ import annotations

import json
import random
import subprocess
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import psycopg

from samen_devtools.bench import harness

GROUPS_PER_LOCATION = 5
SEED = 20261204
# No server-side limits on the loading connection: a COPY of 18,000 rows may take longer than
# the services' statement timeout on a busy machine.
LOAD_OPTIONS = "-c statement_timeout=0 -c idle_in_transaction_session_timeout=0 -c timezone=UTC"


@dataclass(frozen=True)
class Size:
    locations: int
    children: int
    guardians: int


FULL = Size(locations=100, children=10_000, guardians=18_000)
SMOKE = Size(locations=2, children=40, guardians=72)


def build_rows(size: Size, today: date) -> dict[str, tuple[list[str], list[tuple]]]:
    """Return {table: (columns, rows)} for an organisation of `size`, the same for the same arguments.

    Account numbers are "2" plus the guardian's index in six digits, so guardian 2000000 exists
    in every size. Each child has one or two guardians; every ninth guardian also has the next
    child (a sibling pair).
    """
    rng = random.Random(SEED)

    def new_id() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    organisation_id = new_id()
    start = today - timedelta(days=300)
    hours = json.dumps({str(day): ["07:00", "18:30"] for day in range(1, 6)})

    locations = [
        (new_id(), organisation_id, f"loc-{index:03d}", f"Locatie {index}", f"Straat {index}, Utrecht",
         "030 000 0000", hours)
        for index in range(size.locations)
    ]
    groups = [
        (new_id(), locations[loc][0], f"grp-{loc:03d}-{number}", f"Groep {loc}-{number}", "daycare", 16)
        for loc in range(size.locations)
        for number in range(GROUPS_PER_LOCATION)
    ]

    children, placements = [], []
    for index in range(size.children):
        child_id = new_id()
        birth_date = today - timedelta(days=rng.randint(200, 1400))
        children.append((child_id, organisation_id, f"child-{index:05d}", f"Kind{index}", "Bench", birth_date,
                         rng.random() > 0.1))
        weekdays = sorted(rng.sample([1, 2, 3, 4, 5], 3))
        placements.append((new_id(), f"placement-{index:05d}", child_id, groups[index % len(groups)][0],
                           "daycare", weekdays, ["whole_day"], start))

    accounts, guardianships = [], []
    for index in range(size.guardians):
        guardian_id = new_id()
        accounts.append((guardian_id, organisation_id, f"2{index:06d}", "guardian", f"Ouder {index}",
                         f"ouder{index}@example.org", "nl", True))
        first_child = index % size.children
        guardianships.append((guardian_id, children[first_child][0], "parent"))
        if index % 9 == 0 and first_child + 1 < size.children:
            guardianships.append((guardian_id, children[first_child + 1][0], "parent"))

    return {
        "organisations": (["id", "external_ref", "name", "settings"],
                          [(organisation_id, "org-bench", "Kinderopvang Bench", "{}")]),
        "locations": (["id", "organisation_id", "external_ref", "name", "address", "phone", "opening_hours"],
                      locations),
        "groups": (["id", "location_id", "external_ref", "name", "care_type", "max_size"], groups),
        "children": (["id", "organisation_id", "external_ref", "first_name", "last_name", "birth_date",
                      "photo_consent"], children),
        "placements": (["id", "external_ref", "child_id", "group_id", "care_type", "weekdays", "dayparts",
                        "start_date"], placements),
        "accounts": (["id", "organisation_id", "account_number", "kind", "display_name", "email", "language",
                      "active"], accounts),
        "guardianships": (["guardian_id", "child_id", "relation"], guardianships),
    }


def accounts_dsn() -> str:
    return f"host=127.0.0.1 port=5432 user=postgres dbname={harness.DATABASE_PREFIX}accounts"


def load_accounts(size: Size, env: dict) -> dict:
    """Migrate a fresh <prefix>accounts database, COPY the organisation into it and return timing.

    The prefix is `harness.DATABASE_PREFIX` at the time of the call.
    """
    started = time.monotonic()
    for extra in (["--drop"], []):
        subprocess.run(
            [harness.PYTHON, "-m", "samen_devtools.migrate", "--prefix", harness.DATABASE_PREFIX, *extra, "accounts"],
            cwd=harness.ROOT, env=env, check=True, capture_output=True,
        )
    migrated = time.monotonic()

    tables = build_rows(size, date.today())
    with psycopg.connect(accounts_dsn(), options=LOAD_OPTIONS) as conn:
        with conn.transaction(), conn.cursor() as cursor:
            # The order follows the foreign keys.
            for table, (columns, rows) in tables.items():
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        conn.autocommit = True
        # ANALYZE gives the planner row counts of the loaded tables instead of those of empty ones.
        conn.execute("ANALYZE")

    counts = {
        "locations": size.locations,
        "groups": size.locations * GROUPS_PER_LOCATION,
        "children": size.children,
        "guardians": size.guardians,
        "staff": 0,
        "placements": size.children,
    }
    return {
        "counts": counts,
        "seconds": round(time.monotonic() - started, 1),
        "migrate_seconds": round(migrated - started, 1),
        "copy_seconds": round(time.monotonic() - migrated, 1),
    }


def guardian_token(account_number: str) -> str:
    """Sign an access token for the guardian `account_number` with the benchmark's keys."""
    from samen_accounts.security import issue_access_token, token_settings

    with psycopg.connect(accounts_dsn()) as conn:
        row = conn.execute(
            "SELECT id, organisation_id FROM accounts WHERE account_number = %s", (account_number,)
        ).fetchone()
    if row is None:
        raise LookupError(f"guardian {account_number} not found in {harness.DATABASE_PREFIX}accounts; load the data set first")
    account_id, organisation_id = row
    return issue_access_token(
        account_id=account_id, kind="guardian", organisation_id=organisation_id, roles=[], language="nl",
        session_id=uuid.uuid4(), now=datetime.now(timezone.utc), settings=token_settings(),
    )
