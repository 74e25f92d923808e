"""A small organisation in the accounts database, with accounts and requests running on a real broker.

Dates are relative to the next Monday at least three weeks ahead, so notice deadlines of one
day never interfere unless a test changes the rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from samen_accounts.importer import import_organisation
from samen_accounts.models import Account, Child, Group, Location, Placement
from samen_accounts.service import AccountsService
from samen_requests.service import RequestsService


def _birth(today: date, months: int) -> str:
    return (today - timedelta(days=int(months * 30.5))).isoformat()


def build_export(today: date) -> dict:
    start = (today - timedelta(days=200)).isoformat()
    ended = (today - timedelta(days=10)).isoformat()
    children = [
        ("c1", 10), ("c2", 10), ("c3", 10), ("c4", 10), ("ended", 20),
        ("m0a", 6), ("m0b", 6), ("m2a", 30), ("m2b", 30), ("m2c", 30), ("newbie", 30),
    ]
    placements = [
        ("c1", "baby", [1, 2]), ("c2", "baby", [1, 2, 3, 4, 5]), ("c3", "baby", [1, 2, 3, 4, 5]),
        ("c4", "baby", [1, 2]),
        ("m0a", "mixed", [4]), ("m0b", "mixed", [4]), ("m2a", "mixed", [4]), ("m2b", "mixed", [4]),
        ("m2c", "mixed", [4]), ("newbie", "mixed", [1]),
    ]
    export = {
        "format": "samen-organisation-export", "version": 1,
        "organisation": {"ref": "org-test", "name": "Test opvang", "settings": {}},
        "locations": [{"ref": "loc-a", "name": "Locatie A", "opening_hours": {}}],
        "groups": [
            {"ref": "baby", "location": "loc-a", "name": "Baby's", "care_type": "daycare", "max_size": 3},
            {"ref": "mixed", "location": "loc-a", "name": "Gemengd", "care_type": "daycare", "max_size": 16},
        ],
        "children": [
            {"ref": ref, "first_name": ref.capitalize(), "last_name": "Test", "birth_date": _birth(today, months),
             "photo_consent": True}
            for ref, months in children
        ],
        "placements": [
            {"ref": f"p-{ref}", "child": ref, "group": group, "care_type": "daycare", "weekdays": weekdays,
             "dayparts": ["whole_day"], "start": start}
            for ref, group, weekdays in placements
        ] + [
            {"ref": "p-ended", "child": "ended", "group": "baby", "care_type": "daycare", "weekdays": [1, 2, 3, 4, 5],
             "dayparts": ["whole_day"], "start": start, "end": ended},
        ],
        "guardians": [
            {"account_number": "100001", "name": "Ouder Een", "language": "nl", "children": ["c1", "newbie", "ended"]},
            {"account_number": "100002", "name": "Parent Two", "language": "en", "children": ["c4"]},
        ],
        "staff": [
            {"account_number": "900001", "name": "Pm Baby", "roles": [{"role": "pedagogical"}], "groups": ["baby"]},
            {"account_number": "900002", "name": "Coordinator", "roles": [{"role": "coordinator", "location": "loc-a"}],
             "groups": []},
            {"account_number": "900003", "name": "Admin", "roles": [{"role": "admin"}], "groups": []},
        ],
    }
    return export


@dataclass
class Org:
    """Ids of the seeded organisation and helpers to call the requests service."""

    config: dict
    make_token: object
    context_data: object
    organisation_id: str = ""
    location_id: str = ""
    groups: dict = field(default_factory=dict)
    children: dict = field(default_factory=dict)
    accounts: dict = field(default_factory=dict)
    base: date = date.today()

    def token(self, number: str, **kwargs) -> str:
        account = self.accounts[number]
        roles = {"900001": ["pedagogical"], "900002": ["coordinator"], "900003": ["admin"]}.get(number, [])
        kind = "staff" if number.startswith("9") else "guardian"
        return self.make_token(account, kind=kind, roles=roles, organisation_id=self.organisation_id, **kwargs)

    def call(self, method: str, *args, as_: str | None = None, **kwargs):
        data = self.context_data(self.token(as_) if as_ else None, timeout=30)
        with ServiceRpcProxy("requests", self.config, context_data=data, timeout=30) as proxy:
            return getattr(proxy, method)(*args, **kwargs)

    def day(self, weeks: int, weekday: int) -> date:
        """Return the ISO weekday (1 = Monday) in week `weeks` after the base Monday."""
        return self.base + timedelta(weeks=weeks, days=weekday - 1)


@pytest.fixture
def org(clean_db, runner_factory, service_config, make_token, context_data):
    return seed_org(clean_db, runner_factory, service_config, make_token, context_data, AccountsService)


@pytest.fixture
def org_with_actor_lookup(clean_db, runner_factory, service_config, make_token, context_data):
    return seed_org(clean_db, runner_factory, service_config, make_token, context_data, AccountsService)


def seed_org(clean_db, runner_factory, service_config, make_token, context_data, accounts_class) -> Org:
    today = date.today()
    engine = create_engine(clean_db["accounts"])
    with Session(engine) as session, session.begin():
        import_organisation(session, build_export(today), allow_passwords=True)
    with Session(engine) as session:
        result = Org(service_config, make_token, context_data)
        location = session.scalars(select(Location)).one()
        result.location_id, result.organisation_id = str(location.id), str(location.organisation_id)
        result.groups = {g.external_ref: str(g.id) for g in session.scalars(select(Group))}
        result.children = {c.external_ref: str(c.id) for c in session.scalars(select(Child))}
        result.accounts = {a.account_number: str(a.id) for a in session.scalars(select(Account))}
        placements = [
            {"id": str(p.id), "child_id": str(p.child_id), "group_id": str(p.group_id), "care_type": p.care_type,
             "weekdays": list(p.weekdays), "dayparts": list(p.dayparts), "start_date": p.start_date.isoformat(),
             "end_date": p.end_date.isoformat() if p.end_date else None}
            for p in session.scalars(select(Placement))
        ]
    engine.dispose()

    runner = runner_factory(service_config, accounts_class, RequestsService)
    runner.start()
    result.call("sync_placements", placements)
    days_to_monday = (7 - today.weekday()) % 7 or 7
    result.base = today + timedelta(days=days_to_monday + 14)
    return result
