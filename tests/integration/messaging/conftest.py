"""A small organisation in the accounts database, and accounts, messaging and a media stand-in
running as nameko services on the test's own vhost.

The media stand-in is a real nameko service named "media" that serves the three RPCs messaging
calls from a table the test fills, because the real media service needs object storage.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

import pytest
from nameko.rpc import rpc as nameko_rpc
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter
from nameko.testing.utils import get_container
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

OPEN_WEEKDAYS = {str(day): ["07:00", "18:30"] for day in range(1, 6)}

# Photo id -> tagged child ids, shared with the media stand-in in this process.
MEDIA_PHOTOS: dict[str, list[str]] = {}


class MediaStandIn:
    """Serve media's RPCs for the photos registered in MEDIA_PHOTOS."""

    name = "media"

    @nameko_rpc
    def visible_photos(self, photo_ids):
        return [
            {"id": photo_id, "thumb_url": f"http://127.0.0.1:9/thumb/{photo_id}",
             "screen_url": f"http://127.0.0.1:9/screen/{photo_id}"}
            for photo_id in photo_ids if photo_id in MEDIA_PHOTOS
        ]

    @nameko_rpc
    def keepsake_photo_urls(self, photo_ids):
        return {photo_id: f"http://127.0.0.1:9/screen/{photo_id}" for photo_id in photo_ids if photo_id in MEDIA_PHOTOS}

    @nameko_rpc
    def photo_visibility(self, photo_ids):
        return {p: {"child_ids": MEDIA_PHOTOS[p], "blocked": False} for p in photo_ids if p in MEDIA_PHOTOS}


@dataclass
class World:
    organisation_id: str
    locations: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    children: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)


def _insert(session, table: str, **values) -> None:
    columns = ", ".join(values)
    placeholders = ", ".join(f":{name}" for name in values)
    session.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"), values)


def _seed(url: str) -> World:
    """Insert the organisation with plain SQL, naming only the columns this area relies on."""
    import json

    engine = create_engine(url)
    world = World(organisation_id=str(uuid.uuid4()))
    with Session(engine) as session, session.begin():
        _insert(session, "organisations", id=world.organisation_id, external_ref="org", name="Kinderopvang Test")
        for name in ("north", "south"):
            world.locations[name] = str(uuid.uuid4())
            _insert(session, "locations", id=world.locations[name], organisation_id=world.organisation_id,
                    external_ref=f"loc-{name}", name=f"Locatie {name}", opening_hours=json.dumps(OPEN_WEEKDAYS))
        for name, location in (("bears", "north"), ("owls", "north"), ("foxes", "south")):
            world.groups[name] = str(uuid.uuid4())
            _insert(session, "groups", id=world.groups[name], location_id=world.locations[location],
                    external_ref=f"grp-{name}", name=name.title(), care_type="kdv", max_size=12)
        for name, group, consent in (("anna", "bears", True), ("bram", "owls", True), ("cas", "bears", False),
                                     ("dewi", "foxes", True)):
            world.children[name] = str(uuid.uuid4())
            _insert(session, "children", id=world.children[name], organisation_id=world.organisation_id,
                    external_ref=f"child-{name}", first_name=name.title(), last_name="Jansen",
                    birth_date=date(2022, 3, 1), photo_consent=consent)
            _insert(session, "placements", id=str(uuid.uuid4()), external_ref=f"pl-{name}", child_id=world.children[name],
                    group_id=world.groups[group], care_type="kdv", weekdays=[1, 2, 3, 4, 5], dayparts=["whole_day"],
                    start_date=date(2020, 1, 1))
        accounts = {
            # name: (kind, children or groups, roles as (role, location))
            "parent_a": ("guardian", ["anna", "bram"], []),
            "parent_a2": ("guardian", ["anna"], []),
            "parent_c": ("guardian", ["cas"], []),
            "parent_d": ("guardian", ["dewi"], []),
            "staff_bears": ("staff", ["bears"], [("pedagogical", "north")]),
            "staff_foxes": ("staff", ["foxes"], [("pedagogical", "south")]),
            "coordinator_north": ("staff", [], [("coordinator", "north")]),
            "admin": ("staff", [], [("admin", None)]),
        }
        for number, (name, (kind, links, roles)) in enumerate(accounts.items(), start=1):
            account_id = str(uuid.uuid4())
            world.accounts[name] = account_id
            _insert(session, "accounts", id=account_id, organisation_id=world.organisation_id,
                    account_number=f"7000{number:02d}", kind=kind, display_name=name.replace("_", " ").title(),
                    email=f"{name}@example.test", language="nl", active=True)
            for link in links:
                if kind == "guardian":
                    _insert(session, "guardianships", guardian_id=account_id, child_id=world.children[link],
                            relation="parent")
                else:
                    _insert(session, "staff_groups", staff_id=account_id, group_id=world.groups[link])
            for role, location in roles:
                _insert(session, "staff_roles", staff_id=account_id, role=role,
                        location_id=world.locations[location] if location else None)
    engine.dispose()
    return world


# Other areas' tests drop and recreate the shared samen_test_* databases while they run, so
# this area migrates and empties databases of its own.
PREFIX = "samen_test_msg_"
_migrated: set[str] = set()


@pytest.fixture
def clean_db(monkeypatch):
    """Migrate and empty samen_test_msg_accounts and samen_test_msg_messaging for this test."""
    from samen_devtools import migrate

    monkeypatch.setenv("SAMEN_DATABASE_PREFIX", PREFIX)
    urls = {}
    for service in ("accounts", "messaging"):
        if service not in _migrated:
            migrate.drop_service(service, PREFIX)
            migrate.migrate_service(service, PREFIX)
            _migrated.add(service)
        urls[service] = migrate.service_database_url(service, PREFIX).render_as_string(hide_password=False)
        _truncate(urls[service])
    return urls


def _truncate(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
        ).scalars().all()
        connection.execute(text("TRUNCATE " + ", ".join(f'"{name}"' for name in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def world(clean_db, make_token):
    MEDIA_PHOTOS.clear()
    world = _seed(clean_db["accounts"])
    roles = {"staff_bears": ["pedagogical"], "staff_foxes": ["pedagogical"], "coordinator_north": ["coordinator"],
             "admin": ["admin"]}
    for name, account_id in world.accounts.items():
        kind = "guardian" if name.startswith("parent") else "staff"
        world.tokens[name] = make_token(account_id, kind, roles=roles.get(name, []),
                                        organisation_id=world.organisation_id,
                                        language="en" if name == "parent_c" else "nl")
    return world


@pytest.fixture
def services(runner_factory, service_config, world):
    from samen_accounts.service import AccountsService
    from samen_messaging.service import MessagingService

    runner = runner_factory(service_config, AccountsService, MessagingService, MediaStandIn)
    runner.start()
    return runner


@pytest.fixture
def services_without_media(runner_factory, service_config, world):
    from samen_accounts.service import AccountsService
    from samen_messaging.service import MessagingService

    runner = runner_factory(service_config, AccountsService, MessagingService)
    runner.start()
    return runner


@pytest.fixture
def call(service_config, context_data, world):
    """Call a messaging RPC as one of the world's accounts: call("parent_a", "timeline", ...)."""

    def invoke(who: str, method: str, *args, **kwargs):
        data = context_data(world.tokens[who], language="en" if who == "parent_c" else "nl")
        with ServiceRpcProxy("messaging", service_config, context_data=data) as proxy:
            return getattr(proxy, method)(*args, **kwargs)

    return invoke


@pytest.fixture
def publish_event(service_config):
    """Dispatch an event as another service would and wait until messaging handled it."""
    import uuid as _uuid

    from samen_common.timeutil import utcnow
    from samen_messaging.service import MessagingService

    dispatch = event_dispatcher(service_config)

    def publish(runner, source: str, event_type: str, payload: dict, handler: str, event_id: str | None = None):
        body = {"event_id": event_id or str(_uuid.uuid4()), "event_type": event_type,
                "occurred_at": utcnow().isoformat(), **payload}
        container = get_container(runner, MessagingService)
        with entrypoint_waiter(container, handler, timeout=10):
            dispatch(source, event_type, body)
        return body

    return publish


@pytest.fixture
def media_photos():
    """Return the photo table of the media stand-in (photo id to tagged child ids) for a test to fill."""
    return MEDIA_PHOTOS
