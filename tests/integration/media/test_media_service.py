"""The media service with real PostgreSQL, RabbitMQ, accounts service and local storage."""

import io
import time
from urllib.parse import parse_qs, unquote, urlsplit

import piexif
import pytest
from PIL import Image
from sqlalchemy import create_engine, text

from samen_common.errors import InvalidInput, NotFound
from samen_media.settings import shared_storage
from tests.integration.media.conftest import photo_bytes, put_upload, wait_for_status


def media_rows(clean_db, sql, **params):
    engine = create_engine(clean_db["media"])
    with engine.connect() as connection:
        rows = connection.execute(text(sql), params).all()
    engine.dispose()
    return rows


def vlinders_child(people, guardian="100001"):
    return next(c for c in people.children[guardian] if people.child_group[c] == people.groups["Vlinders"])


def upload(media_call, people, data, child_ids, staff="900001", group="Vlinders", **tags):
    key = put_upload(shared_storage(), data)
    photos = media_call(staff, "register_uploads", [{"upload_key": key, "original_filename": "IMG_1.jpg"}],
                        people.groups[group], child_ids=child_ids, **tags)
    return photos[0]["id"], key


def signed_parts(url: str) -> tuple[str, dict]:
    parts = urlsplit(url)
    key = unquote(parts.path.split("/media/files/", 1)[1])
    return key, {name: values[0] for name, values in parse_qs(parts.query).items()}


def fetch(url: str) -> bytes:
    """Check a signed local URL as the gateway route does and return the object's bytes."""
    storage = shared_storage()
    key, params = signed_parts(url)
    assert storage.verify_signed_url(key, params["expires"], params["sig"], filename=params.get("filename"))
    return storage.get(key)


def test_upload_is_upright_and_metadata_free(media_services, media_call, clean_db):
    people = media_services
    child = vlinders_child(people)
    photo_id, upload_key = upload(media_call, people, photo_bytes(orientation=6), [child])

    state = wait_for_status(media_call, photo_id)
    assert state["status"] == "ready"
    assert state["blocked"] is False

    photo = media_call("900001", "get_photo", photo_id)
    original_url = media_call("900001", "original_url", photo_id)["url"]
    for url in (photo["thumb_url"], photo["screen_url"], original_url):
        data = fetch(url)
        image = Image.open(io.BytesIO(data))
        assert image.format == "JPEG"
        assert image.height > image.width  # 400x200 stored sideways with orientation 6
        assert "exif" not in image.info
        assert piexif.load(data) == {"0th": {}, "Exif": {}, "GPS": {}, "Interop": {}, "1st": {}, "thumbnail": None}
        # Orientation 6 turns the top-left block of the stored pixels into the top-right corner.
        red = image.convert("RGB").getpixel((int(image.width * 0.9), int(image.height * 0.05)))
        assert red[0] > 200
        assert red[1] < 60
    assert not shared_storage().exists(upload_key)


def test_png_transparency_and_heic_processed(media_services, media_call):
    people = media_services
    child = vlinders_child(people)
    png_id, _ = upload(media_call, people, photo_bytes("png", size=(64, 64)), [child])
    heic_id, _ = upload(media_call, people, photo_bytes("heic", size=(300, 200)), [child])

    assert wait_for_status(media_call, png_id)["status"] == "ready"
    assert wait_for_status(media_call, heic_id)["status"] == "ready"

    png_thumb = Image.open(io.BytesIO(fetch(media_call("900001", "get_photo", png_id)["thumb_url"])))
    assert png_thumb.convert("RGB").getpixel((5, 32)) == pytest.approx((255, 255, 255), abs=8)
    assert png_thumb.convert("RGB").getpixel((58, 32))[2] > 200
    heic = media_call("900001", "get_photo", heic_id)
    assert (heic["width"], heic["height"]) == (300, 200)


def test_bomb_marked_failed_with_reason(media_services, media_call):
    people = media_services
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))
    photo_id, _ = upload(media_call, people, bomb, [vlinders_child(people)])

    assert wait_for_status(media_call, photo_id)["status"] == "failed"
    photo = media_call("900001", "get_photo", photo_id)
    assert photo["failure"]["code"] == "too_many_pixels"
    assert "megapixel" in photo["failure"]["message"]["nl"]
    assert "megapixels" in photo["failure"]["message"]["en"]
    assert photo["thumb_url"] is None


def test_consent_rules_for_guardians(media_services, media_call, clean_db):
    people = media_services
    own_child = vlinders_child(people)
    other_child = people.children["100002"][0]  # no photo consent in the demo data
    solo_id, _ = upload(media_call, people, photo_bytes(), [own_child])
    group_id, _ = upload(media_call, people, photo_bytes(), [own_child, other_child])
    wait_for_status(media_call, solo_id)
    wait_for_status(media_call, group_id)

    assert media_call("100001", "get_photo", solo_id)["child_ids"] == [own_child]

    # A group photo with a child without consent is shown to no parent; staff see why.
    with pytest.raises(NotFound):
        media_call("100001", "get_photo", group_id)
    with pytest.raises(NotFound):
        media_call("100002", "get_photo", group_id)
    staff_view = media_call("900001", "get_photo", group_id)
    assert staff_view["blocked"] is True
    assert staff_view["blocked_child_ids"] == [other_child]
    assert staff_view["blocked_reason"]["nl"].startswith("Geblokkeerd")

    # Another family's photo and an unknown id look the same.
    with pytest.raises(NotFound):
        media_call("100002", "get_photo", solo_id)
    with pytest.raises(NotFound):
        media_call("100002", "get_photo", "00000000-0000-0000-0000-000000000000")

    album = media_call("100001", "album", own_child)
    assert [item["id"] for item in album["items"]] == [solo_id]

    # Withdrawing consent hides photos that were shown before.
    people.consent(own_child, False)
    with pytest.raises(NotFound):
        media_call("100001", "get_photo", solo_id)
    assert media_call("100001", "album", own_child)["items"] == []

    refusals = media_rows(clean_db, "SELECT photo_id, details->>'reason' FROM photo_audit WHERE action = 'refused'")
    reasons = {(str(photo) if photo else None, reason) for photo, reason in refusals}
    assert (group_id, "no_consent") in reasons
    assert (solo_id, "not_tagged") in reasons
    assert (None, "unknown") in reasons
    downloads = media_rows(clean_db, "SELECT count(*) FROM photo_audit WHERE action = 'download'")
    assert downloads[0][0] == 0


def test_tag_scope_and_retag_audit(media_services, media_call, clean_db):
    people = media_services
    vlinders = vlinders_child(people)
    avonturiers = next(c for c in people.children["100001"] if c != vlinders)

    # Pedagogical staff tag only children of their own groups.
    with pytest.raises(NotFound):
        upload(media_call, people, photo_bytes(), [avonturiers])
    photo_id, _ = upload(media_call, people, photo_bytes(), [vlinders])
    wait_for_status(media_call, photo_id)

    # Retagging to another child of the same group passes; a child of another group does not.
    other_vlinders = next(c for c, g in people.child_group.items()
                          if g == people.groups["Vlinders"] and c not in people.children["100001"]
                          and c not in people.children["100002"])
    media_call("900001", "tag_photo", photo_id, child_ids=[other_vlinders])
    with pytest.raises(NotFound):
        media_call("900001", "tag_photo", photo_id, child_ids=[avonturiers])
    with pytest.raises(InvalidInput):
        media_call("900001", "tag_photo", photo_id, activity_text="x" * 201)

    actions = media_rows(clean_db, "SELECT action, details FROM photo_audit WHERE photo_id = :p AND action IN ('tag', 'untag')",
                         p=photo_id)
    assert ("untag", {"child_ids": [vlinders]}) in [(a, d) for a, d in actions]
    assert ("tag", {"child_ids": [other_vlinders]}) in [(a, d) for a, d in actions]

    events = media_rows(clean_db, "SELECT event_type, payload FROM outbox WHERE payload->>'photo_id' = :p", p=photo_id)
    by_type = {}
    for event_type, payload in events:
        by_type.setdefault(event_type, []).append(payload)
    assert len(by_type["photo_published"]) == 1
    published = by_type["photo_published"][0]
    assert published["child_ids"] == [vlinders]
    assert published["group_id"] == people.groups["Vlinders"]
    assert {"location_id", "taken_at", "published_at", "uploaded_by"} <= set(published)
    assert by_type["photo_retagged"][0]["child_ids"] == [other_vlinders]
    assert by_type["photo_retagged"][0]["previous_child_ids"] == [vlinders]


def test_activity_labels_and_delete(media_services, media_call, clean_db):
    people = media_services
    with pytest.raises(NotFound):
        media_call("900001", "create_activity_label", "Buitenspelen", "Outdoor play")
    label = media_call("900003", "create_activity_label", "Buitenspelen", "Outdoor play")
    assert [item["id"] for item in media_call("900001", "activity_labels")] == [label["id"]]

    photo_id, _ = upload(media_call, people, photo_bytes(), [vlinders_child(people)],
                         activity_label_id=label["id"], activity_text="zandbak")
    wait_for_status(media_call, photo_id)
    photo = media_call("900001", "get_photo", photo_id)
    assert photo["activity"]["name"]["en"] == "Outdoor play"
    assert photo["activity_text"] == "zandbak"
    keys = [row[0] for row in media_rows(clean_db, "SELECT v->>'key' FROM photos, jsonb_each(variants) AS e(n, v) WHERE id = :p",
                                         p=photo_id)]
    assert len(keys) == 3

    with pytest.raises(NotFound):
        media_call("100001", "delete_photo", photo_id)
    media_call("900001", "delete_photo", photo_id)

    assert not any(shared_storage().exists(key) for key in keys)
    with pytest.raises(NotFound):
        media_call("900001", "get_photo", photo_id)
    deleted = media_rows(clean_db, "SELECT payload FROM outbox WHERE event_type = 'photo_deleted'")
    assert deleted[0][0]["photo_id"] == photo_id
    assert deleted[0][0]["child_ids"] == [vlinders_child(people)]


def test_album_keyset_pagination(media_services, media_call):
    people = media_services
    child = vlinders_child(people)
    without_consent = people.children["100002"][0]
    ids, visible = [], []
    for hour in range(7):
        # Every third photo also shows a child without consent, so the album skips it.
        tagged = [child, without_consent] if hour % 3 == 1 else [child]
        photo_id, _ = upload(media_call, people, photo_bytes(size=(40, 30)), tagged,
                             taken_at=f"2026-03-02T{8 + hour:02d}:00:00+01:00")
        ids.append(photo_id)
        if len(tagged) == 1:
            visible.append(photo_id)
    for photo_id in ids:
        wait_for_status(media_call, photo_id)

    for limit in (1, 2, 3, 10):
        seen, cursor = [], None
        for _page in range(10):
            page = media_call("100001", "album", child, cursor=cursor, limit=limit)
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(visible)), f"limit {limit}"
    staff_album = media_call("900001", "album", child, limit=10)
    assert [item["id"] for item in staff_album["items"]] == list(reversed(ids))
    with pytest.raises(InvalidInput):
        media_call("100001", "album", child, cursor="not-a-cursor")
    with pytest.raises(InvalidInput) as naive:
        upload(media_call, people, photo_bytes(), [child], taken_at="2026-03-02T08:00:00")
    assert naive.value.code == "naive_timestamp"


def test_other_service_lookups(media_services, media_call):
    people = media_services
    own_child = vlinders_child(people)
    shown_id, _ = upload(media_call, people, photo_bytes(), [own_child])
    blocked_id, _ = upload(media_call, people, photo_bytes(), [own_child, people.children["100002"][0]])
    wait_for_status(media_call, shown_id)
    wait_for_status(media_call, blocked_id)

    visibility = media_call(None, "photo_visibility", [shown_id, blocked_id, "nonsense"])
    assert set(visibility) == {shown_id, blocked_id}
    assert visibility[blocked_id]["blocked"] is True
    assert visibility[shown_id] == {"child_ids": [own_child], "blocked": False, "status": "ready",
                                    "group_id": people.groups["Vlinders"]}

    visible = media_call("100001", "visible_photos", [shown_id, blocked_id])
    assert [item["id"] for item in visible] == [shown_id]
    assert "/media/files/photos/" in visible[0]["thumb_url"]
    assert media_call("100002", "visible_photos", [shown_id, blocked_id]) == []
    keepsake = media_call("100001", "keepsake_photo_urls", [shown_id, blocked_id])
    assert list(keepsake) == [shown_id]
    assert keepsake[shown_id].split("?")[0].endswith("/screen.jpg")

    blocked = media_call("900001", "blocked_photos")
    assert [item["id"] for item in blocked] == [blocked_id]


def test_signed_url_expires(media_services, media_call):
    people = media_services
    photo_id, _ = upload(media_call, people, photo_bytes(), [vlinders_child(people)])
    wait_for_status(media_call, photo_id)
    url = media_call("100001", "get_photo", photo_id)["thumb_url"]
    key, params = signed_parts(url)
    storage = shared_storage()
    assert storage.verify_signed_url(key, params["expires"], params["sig"])
    assert not storage.verify_signed_url(key, params["expires"], params["sig"], now=int(params["expires"]) + 1)
    assert int(params["expires"]) - time.time() <= 300
