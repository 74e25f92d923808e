"""Photo endpoints of the gateway (Flask test client) against the real media and accounts services."""

import io
import shutil
import zipfile
from urllib.parse import urlsplit

import piexif
import pytest
from PIL import Image
from sqlalchemy import create_engine, text

from samen_media import settings as media_settings_module
from tests.integration.media.conftest import photo_bytes, wait_for_status


@pytest.fixture
def client(media_services):
    from samen_gateway.app import create_app

    app = create_app()
    yield app.test_client()
    app.extensions["samen_rpc_pool"].close()


@pytest.fixture
def auth(token_of):
    def headers(number):
        return {"Authorization": f"Bearer {token_of(number)}"}

    return headers


def vlinders_child(people):
    return next(c for c in people.children["100001"] if people.child_group[c] == people.groups["Vlinders"])


def post_photos(client, auth, people, files, child_ids, **form):
    data = {"group_id": people.groups["Vlinders"], "child_ids": ",".join(child_ids), **form}
    data["files"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post("/api/v1/photos", data=data, headers=auth("900001"), content_type="multipart/form-data")


def photo_count(clean_db) -> int:
    engine = create_engine(clean_db["media"])
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM photos")).scalar()
    engine.dispose()
    return count


def local_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_upload_rejects_text_named_jpg(client, auth, media_services, clean_db):
    response = post_photos(client, auth, media_services, [("IMG_0001.jpg", b"%PDF-1.7 not a photo")],
                           [vlinders_child(media_services)])

    assert response.status_code == 415
    assert response.json["error"]["code"] == "unsupported_type"
    assert "JPEG" in response.json["error"]["message"]
    assert photo_count(clean_db) == 0


def test_upload_rejects_too_large(client, auth, media_services, monkeypatch):
    monkeypatch.setenv("SAMEN_MEDIA_MAX_UPLOAD_BYTES", "1000")
    response = post_photos(client, auth, media_services, [("big.jpg", photo_bytes(size=(800, 600)))],
                           [vlinders_child(media_services)])

    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_upload_rejects_pixel_bomb(client, auth, media_services):
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))
    response = post_photos(client, auth, media_services, [("tiny.png", bomb)], [vlinders_child(media_services)])

    assert response.status_code == 422
    assert response.json["error"]["code"] == "too_many_pixels"


def test_upload_rejects_naive_taken_at(client, auth, media_services):
    response = post_photos(client, auth, media_services, [("a.jpg", photo_bytes())], [vlinders_child(media_services)],
                           taken_at="2026-03-02T09:00:00")

    assert response.status_code == 400
    assert response.json["error"]["code"] == "naive_timestamp"


def test_guardian_cannot_upload(client, auth, media_services):
    response = client.post("/api/v1/photos", data={"group_id": media_services.groups["Vlinders"]},
                           headers=auth("100001"), content_type="multipart/form-data")
    assert response.status_code == 404


def test_storage_down_answers_503(client, auth, media_services, media_env, clean_db):
    storage = media_settings_module.shared_storage()
    shutil.rmtree(storage.root)
    storage.root.write_bytes(b"the storage directory is gone")

    response = post_photos(client, auth, media_services, [("a.jpg", photo_bytes()), ("b.jpg", photo_bytes())],
                           [vlinders_child(media_services)])

    assert response.status_code == 503
    assert response.json["error"]["code"] == "storage_unavailable"
    assert photo_count(clean_db) == 0


def test_multi_upload_album_files_and_zip(client, auth, media_services, media_call):
    people = media_services
    child = vlinders_child(people)
    response = post_photos(client, auth, people, [("one.jpg", photo_bytes(orientation=6)), ("two.heic", photo_bytes("heic"))],
                           [child], taken_at="2026-03-02T09:00:00+01:00")
    assert response.status_code == 201, response.json
    ids = [item["id"] for item in response.json["items"]]
    assert len(ids) == 2
    for photo_id in ids:
        assert wait_for_status(media_call, photo_id)["status"] == "ready"

    album = client.get(f"/api/v1/children/{child}/photos?limit=10", headers=auth("100001"))
    assert album.status_code == 200
    assert {item["id"] for item in album.json["items"]} == set(ids)

    # Image bytes come through the signed file route; a changed signature or expiry is rejected.
    thumb_url = album.json["items"][0]["thumb_url"]
    image = client.get(local_path(thumb_url))
    assert image.status_code == 200
    assert image.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(image.data)).format == "JPEG"
    assert client.get(local_path(thumb_url).replace("sig=", "sig=0")).status_code == 403
    expired = local_path(thumb_url).replace("expires=", "expires=1")
    assert client.get(expired).status_code == 403

    other_family = client.get(f"/api/v1/children/{child}/photos", headers=auth("100002"))
    assert other_family.status_code == 404

    archive_response = client.get(f"/api/v1/children/{child}/photos.zip?from=2026-03-01&to=2026-03-31",
                                  headers=auth("100001"))
    assert archive_response.status_code == 200
    assert archive_response.is_streamed
    assert archive_response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(archive_response.data))
    names = archive.namelist()
    assert len(names) == 2
    for name in names:
        data = archive.read(name)
        assert Image.open(io.BytesIO(data)).format == "JPEG"
        assert piexif.load(data)["GPS"] == {}

    empty = client.get(f"/api/v1/children/{child}/photos.zip?from=2025-01-01&to=2025-01-31", headers=auth("100001"))
    assert zipfile.ZipFile(io.BytesIO(empty.data)).namelist() == []
    naive = client.get(f"/api/v1/children/{child}/photos.zip?from=2026-03-01T00:00:00", headers=auth("100001"))
    assert naive.status_code == 400
    assert client.get(f"/api/v1/children/{child}/photos.zip", headers=auth("100002")).status_code == 404


def test_presigned_local_upload_and_confirm(client, auth, media_services, media_call):
    people = media_services
    child = vlinders_child(people)
    ticket = client.post("/api/v1/photo-uploads", json={"content_type": "image/jpeg"}, headers=auth("900001"))
    assert ticket.status_code == 201, ticket.json
    assert ticket.json["method"] == "PUT"

    put = client.put(local_path(ticket.json["url"]), data=photo_bytes(), headers=ticket.json["headers"])
    assert put.status_code == 204
    confirm = client.post("/api/v1/photo-uploads/confirm", headers=auth("900001"),
                          json={"upload_key": ticket.json["upload_key"], "group_id": people.groups["Vlinders"],
                                "child_ids": [child]})
    assert confirm.status_code == 201, confirm.json
    assert wait_for_status(media_call, confirm.json["id"])["status"] == "ready"

    again = client.post("/api/v1/photo-uploads/confirm", headers=auth("900001"),
                        json={"upload_key": ticket.json["upload_key"], "group_id": people.groups["Vlinders"]})
    assert again.status_code == 422

    # Bytes that are no image are rejected at confirmation, whatever the declared type.
    ticket = client.post("/api/v1/photo-uploads", json={"content_type": "image/jpeg"}, headers=auth("900001")).json
    client.put(local_path(ticket["url"]), data=b"GIF89a-not-accepted", headers=ticket["headers"])
    rejected = client.post("/api/v1/photo-uploads/confirm", headers=auth("900001"),
                           json={"upload_key": ticket["upload_key"], "group_id": people.groups["Vlinders"]})
    assert rejected.status_code == 415

    foreign = client.post("/api/v1/photo-uploads/confirm", headers=auth("900002"),
                          json={"upload_key": ticket["upload_key"], "group_id": people.groups["Vlinders"]})
    assert foreign.status_code == 404


def test_retag_and_delete_endpoints(client, auth, media_services, media_call):
    people = media_services
    child = vlinders_child(people)
    photo_id = post_photos(client, auth, people, [("a.jpg", photo_bytes())], [child]).json["items"][0]["id"]
    wait_for_status(media_call, photo_id)

    retagged = client.put(f"/api/v1/photos/{photo_id}/tags", json={"child_ids": [], "activity_text": "knutselen"},
                          headers=auth("900001"))
    assert retagged.status_code == 200, retagged.json
    assert retagged.json["child_ids"] == []
    assert client.get(f"/api/v1/photos/{photo_id}", headers=auth("100001")).status_code == 404

    day = client.get(f"/api/v1/groups/{people.groups['Vlinders']}/photos", headers=auth("900001"))
    assert [item["id"] for item in day.json["items"]] == [photo_id]

    assert client.delete(f"/api/v1/photos/{photo_id}", headers=auth("100001")).status_code == 404
    assert client.delete(f"/api/v1/photos/{photo_id}", headers=auth("900001")).status_code == 204
    assert client.get(f"/api/v1/photos/{photo_id}", headers=auth("900001")).status_code == 404
