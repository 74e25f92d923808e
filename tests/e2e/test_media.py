"""Photos end to end: upload through the gateway, processing in the media service, consent at read time."""

import io
import time
import zipfile

import piexif
import psycopg
import pytest
import requests
from PIL import Image



def jpeg(orientation=1) -> bytes:
    image = Image.new("RGB", (400, 200), (255, 255, 255))
    image.paste((255, 0, 0), (0, 0, 100, 50))
    buffer = io.BytesIO()
    exif = piexif.dump({"0th": {piexif.ImageIFD.Orientation: orientation},
                        "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N",
                                piexif.GPSIFD.GPSLatitude: ((52, 1), (5, 1), (2400, 100))}})
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def people(platform):
    staff = platform.login("900001")["access_token"]
    anouk = platform.login("100001")["access_token"]
    mark = platform.login("100002")["access_token"]
    anouk_children = platform.get("/api/v1/me", anouk).json()["children"]
    vlinders = next(child for child in anouk_children if child["group_name"] == "Vlinders")
    mark_child = platform.get("/api/v1/me", mark).json()["children"][0]
    return {"staff": staff, "anouk": anouk, "mark": mark, "child": vlinders, "mark_child": mark_child}


def upload(platform, people, files, child_ids):
    return platform.post(
        "/api/v1/photos", people["staff"],
        data={"group_id": people["child"]["group_id"], "child_ids": ",".join(child_ids)},
        files=[("files", (name, content, "image/jpeg")) for name, content in files],
    )


def wait_ready(platform, people, photo_id, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        photo = platform.get(f"/api/v1/photos/{photo_id}", people["staff"]).json()
        if photo["status"] != "processing":
            return photo
        time.sleep(0.3)
    raise AssertionError(f"photo {photo_id} still processing after {timeout} s")


def set_consent(platform, child_id, value):
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={platform.database_prefix}accounts", autocommit=True) as connection:
        connection.execute("UPDATE children SET photo_consent = %s WHERE id = %s", (value, child_id))


def test_photo_upload_and_consent_flow(platform, people):
    child = people["child"]["id"]
    response = upload(platform, people, [("IMG_1.jpg", jpeg(orientation=6))], [child])
    assert response.status_code == 201, response.text
    photo_id = response.json()["items"][0]["id"]
    assert wait_ready(platform, people, photo_id)["status"] == "ready"

    shown = platform.get(f"/api/v1/photos/{photo_id}", people["anouk"])
    assert shown.status_code == 200
    thumb = requests.get(shown.json()["thumb_url"], timeout=10)
    assert thumb.status_code == 200
    assert thumb.headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).height > Image.open(io.BytesIO(thumb.content)).width

    original = platform.get(f"/api/v1/photos/{photo_id}/original", people["anouk"]).json()
    original_bytes = requests.get(original["url"], timeout=10).content
    assert piexif.load(original_bytes)["GPS"] == {}

    assert platform.get(f"/api/v1/photos/{photo_id}", people["mark"]).status_code == 404

    album = platform.get(f"/api/v1/children/{child}/photos", people["anouk"]).json()
    assert photo_id in [item["id"] for item in album["items"]]
    archive = platform.get(f"/api/v1/children/{child}/photos.zip", people["anouk"])
    assert archive.status_code == 200
    assert len(zipfile.ZipFile(io.BytesIO(archive.content)).namelist()) >= 1

    set_consent(platform, child, False)
    try:
        assert platform.get(f"/api/v1/photos/{photo_id}", people["anouk"]).status_code == 404
        assert photo_id not in [i["id"] for i in platform.get(f"/api/v1/children/{child}/photos", people["anouk"]).json()["items"]]
    finally:
        set_consent(platform, child, True)
    assert platform.get(f"/api/v1/photos/{photo_id}", people["anouk"]).status_code == 200


def test_group_photo_with_child_without_consent(platform, people):
    response = upload(platform, people, [("group.jpg", jpeg())], [people["child"]["id"], people["mark_child"]["id"]])
    assert response.status_code == 201, response.text
    photo_id = response.json()["items"][0]["id"]
    staff_view = wait_ready(platform, people, photo_id)

    assert staff_view["blocked"] is True
    assert staff_view["blocked_child_ids"] == [people["mark_child"]["id"]]
    assert people["mark_child"]["first_name"] in staff_view["blocked_reason"]["nl"]
    assert platform.get(f"/api/v1/photos/{photo_id}", people["anouk"]).status_code == 404
    assert platform.get(f"/api/v1/photos/{photo_id}", people["mark"]).status_code == 404
    blocked = platform.get("/api/v1/photos/blocked", people["staff"]).json()["items"]
    assert photo_id in [item["id"] for item in blocked]


def test_non_image_named_jpg_is_415(platform, people):
    response = upload(platform, people, [("holiday.jpg", b"PK\x03\x04 this is a zip file")], [people["child"]["id"]])
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_type"
