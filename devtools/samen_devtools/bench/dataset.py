"""A deterministic organisation of a given size, loaded through the accounts importer.

The full size is that of a large Dutch childcare organisation: 100 locations, 10,000 children
and 18,000 guardians. Guardians get no password; the benchmark signs access tokens itself.
"""

from __future__ import annotations

import random
import subprocess
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from samen_devtools.bench import harness

GROUPS_PER_LOCATION = 5


@dataclass(frozen=True)
class Size:
    locations: int
    children: int
    guardians: int


FULL = Size(locations=100, children=10_000, guardians=18_000)
SMOKE = Size(locations=2, children=40, guardians=72)


def build_export(size: Size, today: date) -> dict:
    """Return an import export of `size`, the same for the same `size` and `today`."""
    rng = random.Random(20261204)
    start = (today - timedelta(days=300)).isoformat()
    hours = {str(day): ["07:00", "18:30"] for day in range(1, 6)}
    locations = [
        {"ref": f"loc-{index:03d}", "name": f"Locatie {index}", "address": f"Straat {index}, Utrecht",
         "phone": "030 000 0000", "opening_hours": hours}
        for index in range(size.locations)
    ]
    groups = [
        {"ref": f"grp-{loc:03d}-{number}", "location": f"loc-{loc:03d}", "name": f"Groep {loc}-{number}",
         "care_type": "daycare", "max_size": 16}
        for loc in range(size.locations)
        for number in range(GROUPS_PER_LOCATION)
    ]
    children, placements = [], []
    for index in range(size.children):
        ref = f"child-{index:05d}"
        children.append({
            "ref": ref, "first_name": f"Kind{index}", "last_name": "Bench",
            "birth_date": (today - timedelta(days=rng.randint(200, 1400))).isoformat(),
            "photo_consent": rng.random() > 0.1,
        })
        placements.append({
            "ref": f"placement-{index:05d}", "child": ref, "group": groups[index % len(groups)]["ref"],
            "care_type": "daycare", "weekdays": sorted(rng.sample([1, 2, 3, 4, 5], 3)),
            "dayparts": ["whole_day"], "start": start,
        })
    guardians = []
    for index in range(size.guardians):
        # Each child has one or two guardians; a guardian of a sibling pair has two children.
        first_child = index % size.children
        own = [f"child-{first_child:05d}"]
        if index % 9 == 0 and first_child + 1 < size.children:
            own.append(f"child-{first_child + 1:05d}")
        guardians.append({
            "account_number": f"2{index:06d}", "name": f"Ouder {index}", "email": f"ouder{index}@example.org",
            "language": "nl", "children": own,
        })
    return {
        "format": "samen-organisation-export", "version": 1,
        "organisation": {"ref": "org-bench", "name": "Kinderopvang Bench", "settings": {}},
        "locations": locations, "groups": groups, "children": children, "guardians": guardians,
        "staff": [], "placements": placements,
    }


def load_accounts(size: Size, env: dict) -> dict:
    """Migrate a fresh samen_bench_accounts database, import the organisation and return timing."""
    started = time.monotonic()
    for extra in (["--drop"], []):
        subprocess.run(
            [harness.PYTHON, "-m", "samen_devtools.migrate", "--prefix", harness.DATABASE_PREFIX, *extra, "accounts"],
            cwd=harness.ROOT, env=env, check=True, capture_output=True,
        )
    from sqlalchemy.orm import Session

    from samen_accounts.importer import import_organisation
    from samen_common.db import make_engine

    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{harness.DATABASE_PREFIX}accounts"
    engine = make_engine(url, pool_size=1)
    try:
        with Session(engine) as session, session.begin():
            counts = import_organisation(session, build_export(size, date.today()))
    finally:
        engine.dispose()
    return {"counts": counts, "seconds": round(time.monotonic() - started, 1)}


def guardian_token(account_number: str) -> str:
    """Sign an access token for the guardian `account_number` with the benchmark's keys."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from samen_accounts.models import Account
    from samen_accounts.security import issue_access_token, token_settings
    from samen_common.db import make_engine

    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/{harness.DATABASE_PREFIX}accounts", pool_size=1)
    try:
        with Session(engine) as session:
            account = session.scalars(select(Account).where(Account.account_number == account_number)).one()
            account_id, organisation_id = account.id, account.organisation_id
    finally:
        engine.dispose()
    return issue_access_token(
        account_id=account_id, kind="guardian", organisation_id=organisation_id, roles=[], language="nl",
        session_id=uuid.uuid4(), now=datetime.now(timezone.utc), settings=token_settings(),
    )
