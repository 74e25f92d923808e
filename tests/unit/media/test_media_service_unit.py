"""Media service units: access decisions, cursors and processing, with nameko's worker_factory.

The database is the real media test database. The accounts service is a fake with fixed scopes
and consent, because these tests are about the media service's own rules.
"""

import io
import uuid
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
from nameko.testing.services import worker_factory
from PIL import Image
from sqlalchemy import create_engine, func, select, update
from sqlalchemy.orm import Session

from samen_common.auth import AccountKind, Caller
from samen_common.errors import InvalidInput, NotFound
from samen_common.outbox import new_event
from samen_media import access, processing
from samen_media.models import OutboxMessage, Photo, PhotoAudit, PhotoChild, PhotoStatus
from samen_media.service import MediaService, decode_cursor, encode_cursor
from samen_media.settings import media_settings
from samen_media.storage import LocalStorage, StorageUnavailable, new_object_key, variant_key

ORG = str(uuid.uuid4())
GROUP = str(uuid.uuid4())
OTHER_GROUP = str(uuid.uuid4())
OWN_CHILD = str(uuid.uuid4())
CLASSMATE = str(uuid.uuid4())


class RecordingOutbox:
    """Writes outbox rows into the session like the real writer, without the relay."""

    def add(self, session, event_type, data):
        payload = new_event(event_type, data)
        session.add(OutboxMessage(id=uuid.UUID(payload["event_id"]), event_type=event_type, payload=payload))
        return payload


class FakeAccounts:
    def __init__(self, scope, consent):
        self.scope = scope
        self.consent = consent

    def access_scope(self):
        return self.scope

    def children_consent(self, child_ids):
        return {child: self.consent.get(child, False) for child in child_ids}

    def children(self, child_ids):
        return [{"id": child, "first_name": f"Kind {child[:4]}"} for child in child_ids]

    def groups(self, group_ids):
        return [{"id": g, "location_id": str(uuid.UUID(int=1)), "organisation_id": ORG} for g in group_ids]

    def children_of_groups(self, group_ids):
        placed = {GROUP: [OWN_CHILD, CLASSMATE], OTHER_GROUP: [str(uuid.UUID(int=7))]}
        return {g: placed.get(g, []) for g in group_ids}

    def staff_of_groups(self, group_ids):
        return {}


class FakeCaller:
    def __init__(self, kind, account_id=None, roles=()):
        self._caller = Caller(account_id or str(uuid.uuid4()), AccountKind(kind), ORG, frozenset(roles))

    def __call__(self):
        return self._caller

    present = True


class FakeContext:
    request_id = "unit-test"
    client_address = "127.0.0.1"
    language = "nl"


@pytest.fixture
def session(clean_db):
    engine = create_engine(clean_db["media"])
    with Session(engine, expire_on_commit=False) as db:
        yield db
    engine.dispose()


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "objects", b"s" * 32, "http://127.0.0.1:8080/media/files")


def make_photo(session, storage, child_ids, status=PhotoStatus.PROCESSING, data=None) -> Photo:
    upload_key = variant_key(new_object_key("uploads"), "source", "bin")
    if data is None:
        buffer = io.BytesIO()
        Image.new("RGB", (60, 40), (10, 200, 10)).save(buffer, format="JPEG")
        data = buffer.getvalue()
    storage.put(upload_key, data, "application/octet-stream")
    photo = Photo(
        id=uuid.uuid4(), organisation_id=uuid.UUID(ORG), location_id=uuid.uuid4(), group_id=uuid.UUID(GROUP),
        uploaded_by=uuid.uuid4(), status=status, upload_key=upload_key, key_prefix=new_object_key("photos"),
        taken_at=datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc), variants={}, staff_ids=[],
    )
    session.add(photo)
    session.flush()
    for child in child_ids:
        session.add(PhotoChild(photo_id=photo.id, child_id=uuid.UUID(child), tagged_by=photo.uploaded_by))
    session.commit()
    return photo


def stored_keys(storage, prefix):
    return sorted(str(path.relative_to(storage.root)) for path in (storage.root / prefix).glob("*"))


def published_count(session, photo_id):
    return session.scalar(
        select(func.count()).select_from(OutboxMessage)
        .where(OutboxMessage.event_type == "photo_published", OutboxMessage.payload["photo_id"].astext == str(photo_id))
    )


@pytest.mark.parametrize(
    ("tagged", "consent", "expected"),
    [
        ([OWN_CHILD], {OWN_CHILD: True}, (True, None)),
        ([OWN_CHILD, CLASSMATE], {OWN_CHILD: True, CLASSMATE: True}, (True, None)),
        ([OWN_CHILD, CLASSMATE], {OWN_CHILD: True, CLASSMATE: False}, (False, access.Refusal.NO_CONSENT)),
        ([OWN_CHILD, CLASSMATE], {OWN_CHILD: True}, (False, access.Refusal.NO_CONSENT)),
        ([OWN_CHILD], {OWN_CHILD: False}, (False, access.Refusal.NO_CONSENT)),
        ([CLASSMATE], {CLASSMATE: True}, (False, access.Refusal.NOT_TAGGED)),
        ([], {}, (False, access.Refusal.NOT_TAGGED)),
    ],
)
def test_guardian_decision_table(tagged, consent, expected):
    photo = Photo(status=PhotoStatus.READY, group_id=uuid.UUID(GROUP))
    decision = access.decide_for_guardian(photo, tagged, {OWN_CHILD}, consent)
    assert (decision.visible, decision.refusal) == expected


def test_guardian_decision_hides_unready_and_deleted():
    for status, refusal in ((PhotoStatus.PROCESSING, access.Refusal.NOT_READY),
                            (PhotoStatus.FAILED, access.Refusal.NOT_READY),
                            (PhotoStatus.DELETED, access.Refusal.UNKNOWN)):
        photo = Photo(status=status, group_id=uuid.UUID(GROUP))
        assert access.decide_for_guardian(photo, [OWN_CHILD], {OWN_CHILD}, {OWN_CHILD: True}).refusal == refusal


def test_staff_decision_marks_blocked_children():
    photo = Photo(status=PhotoStatus.READY, group_id=uuid.UUID(GROUP))
    decision = access.decide_for_staff(photo, [OWN_CHILD, CLASSMATE], {GROUP}, {OWN_CHILD: True})
    assert decision.visible
    assert decision.blocked_child_ids == (CLASSMATE,)
    assert access.decide_for_staff(photo, [OWN_CHILD], {OTHER_GROUP}, {}).refusal == access.Refusal.OUT_OF_SCOPE


def test_tag_groups_by_role():
    scope = {"roles": ["pedagogical"], "group_ids": [GROUP, OTHER_GROUP], "own_group_ids": [GROUP]}
    assert access.tag_group_ids(scope) == {GROUP}
    assert access.tag_group_ids({**scope, "roles": ["pedagogical", "coordinator"]}) == {GROUP, OTHER_GROUP}


def test_cursor_round_trip_and_garbage():
    photo = Photo(id=uuid.uuid4(), taken_at=datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc))
    assert decode_cursor(encode_cursor(photo)) == (photo.taken_at, photo.id)
    for garbage in ("x", "bm90IGpzb24", encode_cursor(photo)[:-3]):
        with pytest.raises(InvalidInput):
            decode_cursor(garbage)


def test_redelivered_job_makes_one_set(session, storage):
    photo = make_photo(session, storage, [OWN_CHILD])
    settings = media_settings()
    outbox = RecordingOutbox()

    first = processing.process_photo(session, storage, settings, outbox, str(photo.id), "event-1")
    again = processing.process_photo(session, storage, settings, outbox, str(photo.id), "event-1")
    requeued = processing.process_photo(session, storage, settings, outbox, str(photo.id), "event-2")

    assert (first, again, requeued) == ("ready", "skipped", "skipped")
    assert stored_keys(storage, photo.key_prefix) == [f"{photo.key_prefix}/{name}.jpg" for name in ("original", "screen", "thumb")]
    assert published_count(session, photo.id) == 1
    assert not storage.exists(photo.upload_key)


def test_concurrent_jobs_make_one_set(clean_db, storage):
    """Two deliveries of one job running at once (a redelivery after a lost heartbeat)."""
    engine = create_engine(clean_db["media"])
    with Session(engine, expire_on_commit=False) as setup:
        photo = make_photo(setup, storage, [OWN_CHILD])

    def run(event_id):
        with Session(engine, expire_on_commit=False) as own:
            return processing.process_photo(own, storage, media_settings(), RecordingOutbox(), str(photo.id), event_id)

    results = sorted(thread.wait() for thread in [eventlet.spawn(run, "a"), eventlet.spawn(run, "b")])

    assert results == ["ready", "skipped"]
    assert len(stored_keys(storage, photo.key_prefix)) == 3
    with Session(engine) as check:
        assert published_count(check, photo.id) == 1
    engine.dispose()


def test_failed_photo_has_reason(session, storage):
    photo = make_photo(session, storage, [OWN_CHILD], data=b"\x89PNG\r\n\x1a\n broken")
    status = processing.process_photo(session, storage, media_settings(), RecordingOutbox(), str(photo.id), "e")
    session.expire_all()
    stored = session.get(Photo, photo.id)
    assert status == "failed"
    assert stored.failure_code == "corrupt_image"
    assert stored_keys(storage, photo.key_prefix) == []
    assert published_count(session, photo.id) == 0


def service_worker(session, storage, caller, scope, consent):
    return worker_factory(
        MediaService, db=session, storage=storage, settings=media_settings(), outbox=RecordingOutbox(),
        accounts=FakeAccounts(scope, consent), caller=caller, context=FakeContext(),
    )


def test_other_family_photo_not_found(session, storage):
    photo = make_photo(session, storage, [CLASSMATE])
    processing.process_photo(session, storage, media_settings(), RecordingOutbox(), str(photo.id), "e")
    guardian_scope = {"kind": "guardian", "children": [{"id": OWN_CHILD}]}
    worker = service_worker(session, storage, FakeCaller("guardian"), guardian_scope, {CLASSMATE: True, OWN_CHILD: True})

    with pytest.raises(NotFound):
        worker.get_photo(str(photo.id))
    with pytest.raises(NotFound):
        worker.get_photo("not-a-uuid")

    rows = session.scalars(select(PhotoAudit).where(PhotoAudit.action == "refused").order_by(PhotoAudit.id)).all()
    assert [(row.photo_id, row.details["reason"]) for row in rows] == [(photo.id, "not_tagged"), (None, "unknown")]


def test_staff_sees_blocked_photo_with_reason(session, storage):
    photo = make_photo(session, storage, [OWN_CHILD, CLASSMATE])
    processing.process_photo(session, storage, media_settings(), RecordingOutbox(), str(photo.id), "e")
    staff_scope = {"kind": "staff", "roles": ["pedagogical"], "group_ids": [GROUP], "own_group_ids": [GROUP]}
    worker = service_worker(session, storage, FakeCaller("staff"), staff_scope, {OWN_CHILD: True})

    shown = worker.get_photo(str(photo.id))

    assert shown["blocked"] is True
    assert shown["blocked_child_ids"] == [CLASSMATE]
    assert shown["blocked_reason"]["en"] == f"Blocked: no photo consent for Kind {CLASSMATE[:4]}."
    assert shown["thumb_url"].startswith("http://127.0.0.1:8080/media/files/photos/")


def test_pedagogical_staff_cannot_tag_managed_group(session, storage):
    scope = {"kind": "staff", "roles": ["pedagogical"], "group_ids": [GROUP, OTHER_GROUP], "own_group_ids": [GROUP]}
    worker = service_worker(session, storage, FakeCaller("staff"), scope, {})
    key = variant_key(new_object_key("uploads"), "source", "bin")
    storage.put(key, b"x", "application/octet-stream")

    with pytest.raises(NotFound):
        worker.register_uploads([{"upload_key": key}], OTHER_GROUP, child_ids=[str(uuid.UUID(int=7))])
    with pytest.raises(NotFound):
        worker.register_uploads([{"upload_key": key}], GROUP, child_ids=[str(uuid.UUID(int=7))])
    with pytest.raises(NotFound):
        worker.register_uploads([{"upload_key": "photos/aa/bb/original.jpg"}], GROUP, child_ids=[OWN_CHILD])

    photos = worker.register_uploads([{"upload_key": key}], GROUP, child_ids=[OWN_CHILD])
    assert photos[0]["status"] == "processing"
    assert photos[0]["child_ids"] == [OWN_CHILD]


def test_storage_down_keeps_photo_processing(session, storage):
    photo = make_photo(session, storage, [OWN_CHILD])
    broken = LocalStorage(storage.root.parent / "broken", b"s" * 32, "http://127.0.0.1:8080/media/files")
    broken.root.rmdir()
    broken.root.write_bytes(b"not a directory")

    with pytest.raises(StorageUnavailable):
        processing.process_photo(session, broken, media_settings(), RecordingOutbox(), str(photo.id), "e")

    session.expire_all()
    stored = session.get(Photo, photo.id)
    assert stored.status == PhotoStatus.PROCESSING
    assert stored.processing_attempts == 1


def test_retry_timer_requeues_then_gives_up(session, storage, monkeypatch):
    monkeypatch.setenv("SAMEN_MEDIA_PROCESSING_RETRY_SECONDS", "60")
    monkeypatch.setenv("SAMEN_MEDIA_PROCESSING_MAX_ATTEMPTS", "2")
    stuck = make_photo(session, storage, [OWN_CHILD])
    exhausted = make_photo(session, storage, [OWN_CHILD])
    fresh = make_photo(session, storage, [OWN_CHILD])
    session.execute(
        update(Photo).where(Photo.id.in_([stuck.id, exhausted.id])).values(queued_at=func.now() - timedelta(minutes=5))
    )
    session.execute(update(Photo).where(Photo.id == exhausted.id).values(processing_attempts=2))
    session.commit()
    worker = service_worker(session, storage, FakeCaller("staff"), {}, {})

    worker.retry_stuck_photos()

    session.expire_all()
    requeued = session.scalars(
        select(OutboxMessage.payload["photo_id"].astext).where(OutboxMessage.event_type == "photo_uploaded")
    ).all()
    assert requeued == [str(stuck.id)]
    assert session.get(Photo, exhausted.id).status == PhotoStatus.FAILED
    assert session.get(Photo, exhausted.id).failure_code == "storage_unavailable"
    assert session.get(Photo, fresh.id).status == PhotoStatus.PROCESSING
