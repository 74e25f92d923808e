"""The media service and gateway with S3 storage: moto's S3 server on loopback."""

import io
import uuid

import piexif
import pytest
import requests
from PIL import Image

from samen_media import settings as media_settings_module
from samen_media.settings import shared_storage
from tests.integration.media.conftest import photo_bytes, put_upload, wait_for_status


@pytest.fixture
def s3_env(media_env, moto_endpoint, monkeypatch):
    monkeypatch.setenv("SAMEN_STORAGE_BACKEND", "s3")
    monkeypatch.setenv("SAMEN_S3_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("SAMEN_S3_BUCKET", f"samen-media-{uuid.uuid4().hex[:10]}")
    monkeypatch.setenv("SAMEN_S3_REGION", "eu-central-1")
    monkeypatch.setenv("SAMEN_S3_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("SAMEN_S3_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("SAMEN_S3_PATH_STYLE", "true")
    media_settings_module.shared_storage.cache_clear()
    shared_storage().ensure_bucket()
    return moto_endpoint


def test_s3_upload_process_download_delete(s3_env, media_services, media_call):
    people = media_services
    child = next(c for c in people.children["100001"] if people.child_group[c] == people.groups["Vlinders"])
    key = put_upload(shared_storage(), photo_bytes(orientation=6))
    photo_id = media_call("900001", "register_uploads", [{"upload_key": key}], people.groups["Vlinders"],
                          child_ids=[child])[0]["id"]

    assert wait_for_status(media_call, photo_id)["status"] == "ready"

    photo = media_call("100001", "get_photo", photo_id)
    original = media_call("100001", "original_url", photo_id)
    for url in (photo["thumb_url"], photo["screen_url"], original["url"]):
        assert url.startswith(s3_env)
        assert "X-Amz-Expires=300" in url
        response = requests.get(url, timeout=5)
        assert response.status_code == 200
        image = Image.open(io.BytesIO(response.content))
        assert image.height > image.width
        assert piexif.load(response.content)["GPS"] == {}
    assert not shared_storage().exists(key)

    media_call("900001", "delete_photo", photo_id)
    assert requests.get(photo["thumb_url"], timeout=5).status_code == 404


def test_s3_down_upload_answers_503(media_env, closed_port, monkeypatch, media_services, token_of):
    from samen_gateway.app import create_app

    monkeypatch.setenv("SAMEN_STORAGE_BACKEND", "s3")
    monkeypatch.setenv("SAMEN_S3_ENDPOINT_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("SAMEN_S3_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("SAMEN_S3_SECRET_ACCESS_KEY", "testing")
    media_settings_module.shared_storage.cache_clear()
    people = media_services
    client = create_app().test_client()

    response = client.post(
        "/api/v1/photos",
        data={"group_id": people.groups["Vlinders"], "files": [(io.BytesIO(photo_bytes()), "a.jpg")]},
        headers={"Authorization": f"Bearer {token_of('900001')}"},
        content_type="multipart/form-data",
    )

    assert response.status_code == 503
    assert response.json["error"]["code"] == "storage_unavailable"
    assert response.headers["Retry-After"]
