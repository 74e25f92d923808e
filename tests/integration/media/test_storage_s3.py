import base64
import json
import re
import time
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests

from samen_media import storage as storage_module
from samen_media.storage import (
    InvalidObjectKey,
    LocalStorage,
    ObjectNotFound,
    ObjectStorage,
    S3Storage,
    StorageUnavailable,
    new_object_key,
    validate_key,
    variant_key,
)


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def test_s3_put_get_exists_delete(s3_storage):
    key = variant_key(new_object_key("photos"), "original")
    data = bytes(range(256)) * 10

    assert not s3_storage.exists(key)
    s3_storage.put(key, data, "image/jpeg")

    assert s3_storage.exists(key)
    assert s3_storage.get(key) == data
    assert s3_storage.size(key) == len(data)

    s3_storage.delete(key)
    assert not s3_storage.exists(key)
    with pytest.raises(ObjectNotFound):
        s3_storage.get(key)

    s3_storage.delete(key)


def test_s3_open_stream_chunks(s3_storage):
    key = variant_key(new_object_key("photos"), "original")
    data = b"0123456789abcdef" * 20_000
    s3_storage.put(key, data, "image/jpeg")

    chunks = list(s3_storage.open_stream(key))

    assert b"".join(chunks) == data
    assert len(chunks) > 1
    assert all(len(chunk) <= storage_module.CHUNK_SIZE for chunk in chunks)


def test_s3_open_stream_missing_key(s3_storage):
    with pytest.raises(ObjectNotFound):
        s3_storage.open_stream("photos/00/missing/original.jpg")


def test_s3_presigned_get(s3_storage):
    key = variant_key(new_object_key("photos"), "screen")
    s3_storage.put(key, b"jpeg bytes", "image/jpeg")

    url = s3_storage.url_for(key, expires_in_seconds=300, filename="Foto van de zandbak é.jpg")

    response = requests.get(url, timeout=5)
    assert response.status_code == 200
    assert response.content == b"jpeg bytes"

    # moto checks neither signature nor expiry, so check what real S3 would enforce.
    query = query_of(url)
    assert query["X-Amz-Expires"] == "300"
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert "X-Amz-Signature" in query
    disposition = query["response-content-disposition"]
    assert disposition.startswith('attachment; filename="Foto van de zandbak _.jpg"')
    assert "filename*=UTF-8''Foto%20van%20de%20zandbak%20%C3%A9.jpg" in disposition


def test_s3_presigned_put(s3_storage):
    key = variant_key(new_object_key("uploads"), "source", "bin")
    upload = s3_storage.presigned_upload(key, "image/jpeg", 1000, 120, method="PUT")

    assert upload.method == "PUT"
    assert upload.headers == {"Content-Type": "image/jpeg"}
    query = query_of(upload.url)
    assert query["X-Amz-Expires"] == "120"
    assert "content-type" in query["X-Amz-SignedHeaders"]

    response = requests.put(upload.url, data=b"uploaded", headers=upload.headers, timeout=5)
    assert response.status_code == 200
    assert s3_storage.get(key) == b"uploaded"
    assert s3_storage.size(key) == len(b"uploaded")


def test_s3_presigned_post_policy(s3_storage):
    key = variant_key(new_object_key("uploads"), "source", "bin")
    before = int(time.time())
    upload = s3_storage.presigned_upload(key, "image/heic", 20_000_000, 600)

    assert upload.method == "POST"
    assert before + 600 <= upload.expires_at <= int(time.time()) + 600
    policy = json.loads(base64.b64decode(upload.fields["policy"]))
    assert ["content-length-range", 1, 20_000_000] in policy["conditions"]
    assert {"Content-Type": "image/heic"} in policy["conditions"]
    assert {"key": key} in policy["conditions"]

    response = requests.post(
        upload.url,
        data=upload.fields,
        files={"file": ("IMG_0001.HEIC", b"heic bytes", "image/heic")},
        timeout=5,
    )
    assert response.status_code in (200, 201, 204)
    assert s3_storage.get(key) == b"heic bytes"


def test_s3_url_lifetime_bounded(s3_storage):
    for seconds in (0, -1, 8 * 24 * 3600):
        with pytest.raises(ValueError):
            s3_storage.url_for("photos/00/abc/original.jpg", seconds)


def test_s3_closed_port_unavailable(closed_port):
    unreachable = S3Storage(
        bucket="samen-media-unreachable",
        region="eu-central-1",
        endpoint_url=f"http://127.0.0.1:{closed_port}",
        access_key_id="testing",
        secret_access_key="testing",
        path_style=True,
        connect_timeout=0.5,
        read_timeout=0.5,
        max_attempts=2,
    )
    key = "photos/00/abc/original.jpg"

    started = time.monotonic()
    for call in (
        lambda: unreachable.put(key, b"x", "image/jpeg"),
        lambda: unreachable.get(key),
        lambda: unreachable.exists(key),
        lambda: unreachable.delete(key),
        lambda: unreachable.open_stream(key),
        unreachable.ensure_bucket,
    ):
        with pytest.raises(StorageUnavailable) as caught:
            call()
        assert caught.value.http_status == 503
        assert caught.value.code == "storage_unavailable"

    assert time.monotonic() - started < 15


def test_s3_satisfies_protocol(s3_storage, local_storage):
    assert isinstance(s3_storage, ObjectStorage)
    assert isinstance(local_storage, ObjectStorage)


def test_new_object_key_random():
    keys = {new_object_key("photos") for _ in range(1000)}

    assert len(keys) == 1000
    for key in keys:
        assert re.fullmatch(r"photos/([0-9a-f]{2})/\1[0-9a-f]{30}", key), key
        assert validate_key(key) == key


@pytest.mark.parametrize("kind", ["", "Photos", "../photos", "photos/x", "a" * 40])
def test_new_object_key_bad_kind(kind):
    with pytest.raises(InvalidObjectKey):
        new_object_key(kind)


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "photos/../../etc/passwd",
        "photos/./x.jpg",
        "/etc/passwd",
        "photos\\..\\x.jpg",
        "photos//x.jpg",
        "photos/x.jpg/",
        "",
        ".hidden",
        "photos/x\n.jpg",
        "photos/x\x00.jpg",
        "photos/%2e%2e/x.jpg",
        "photos/" + "a" * 1100,
    ],
)
def test_local_traversal_rejected(local_storage, key):
    with pytest.raises(InvalidObjectKey):
        local_storage.put(key, b"x", "image/jpeg")
    with pytest.raises(InvalidObjectKey):
        local_storage.get(key)
    with pytest.raises(InvalidObjectKey):
        local_storage.url_for(key, 60)

    assert not local_storage.verify_signed_url(key, int(time.time()) + 60, "0" * 64)


def test_local_put_get_stream_delete(local_storage):
    key = variant_key(new_object_key("photos"), "original")
    data = b"abc" * 100_000

    local_storage.put(key, data, "image/jpeg")

    assert local_storage.exists(key)
    assert local_storage.get(key) == data
    assert local_storage.size(key) == len(data)
    assert b"".join(local_storage.open_stream(key)) == data
    assert (local_storage.root / key).is_file()
    assert [path.name for path in (local_storage.root / key).parent.iterdir()] == ["original.jpg"]

    local_storage.delete(key)
    assert not local_storage.exists(key)
    with pytest.raises(ObjectNotFound):
        local_storage.get(key)
    with pytest.raises(ObjectNotFound):
        local_storage.open_stream(key)


def test_local_symlink_escape_rejected(local_storage, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"secret")
    (local_storage.root / "photos").mkdir()
    (local_storage.root / "photos" / "link").symlink_to(outside)

    with pytest.raises(InvalidObjectKey):
        local_storage.get("photos/link/secret.jpg")


def test_local_signed_url_verifies(local_storage):
    now = 1_800_000_000
    url = local_storage.url_for("photos/ab/abc/thumb.jpg", 300, now=now)

    parts = urlsplit(url)
    assert parts.netloc == "127.0.0.1:8080"
    assert parts.path == "/media/files/photos/ab/abc/thumb.jpg"
    key = unquote(parts.path.removeprefix("/media/files/"))
    query = query_of(url)
    assert query["expires"] == str(now + 300)
    assert re.fullmatch(r"[0-9a-f]{64}", query["sig"])

    assert local_storage.verify_signed_url(key, query["expires"], query["sig"], now=now)
    assert local_storage.verify_signed_url(key, query["expires"], query["sig"], now=now + 300)


def test_local_expired_url_rejected(local_storage):
    now = 1_800_000_000
    query = query_of(local_storage.url_for("photos/ab/abc/thumb.jpg", 300, now=now))

    assert not local_storage.verify_signed_url(
        "photos/ab/abc/thumb.jpg", query["expires"], query["sig"], now=now + 301
    )


def test_local_tampered_url_rejected(local_storage):
    now = 1_800_000_000
    key = "photos/ab/abc/thumb.jpg"
    query = query_of(local_storage.url_for(key, 300, filename="mila.jpg", now=now))
    expires, sig = query["expires"], query["sig"]

    assert local_storage.verify_signed_url(key, expires, sig, now=now, filename="mila.jpg")

    flipped = ("1" if sig[0] == "0" else "0") + sig[1:]
    assert not local_storage.verify_signed_url(key, expires, flipped, now=now, filename="mila.jpg")
    assert not local_storage.verify_signed_url(
        key, int(expires) + 3600, sig, now=now, filename="mila.jpg"
    )
    assert not local_storage.verify_signed_url(
        "photos/ab/abc/original.jpg", expires, sig, now=now, filename="mila.jpg"
    )
    assert not local_storage.verify_signed_url(key, expires, sig, now=now, filename="other.jpg")
    assert not local_storage.verify_signed_url(key, expires, sig, now=now)
    assert not local_storage.verify_signed_url(key, "soon", sig, now=now, filename="mila.jpg")
    assert not local_storage.verify_signed_url(key, expires, "", now=now, filename="mila.jpg")

    other_key = LocalStorage(local_storage.root, b"o" * 32, local_storage.base_url)
    assert not other_key.verify_signed_url(key, expires, sig, now=now, filename="mila.jpg")


def test_local_signed_upload(local_storage):
    key = "uploads/ab/abc/source.bin"
    upload = local_storage.presigned_upload(key, "image/jpeg", 20_000_000, 120)

    assert upload.method == "PUT"
    assert upload.headers == {"Content-Type": "image/jpeg"}
    query = query_of(upload.url)
    assert query["max_bytes"] == "20000000"

    assert local_storage.verify_signed_upload(
        key, query["expires"], query["sig"], "image/jpeg", query["max_bytes"]
    )
    assert not local_storage.verify_signed_upload(
        key, query["expires"], query["sig"], "image/jpeg", 30_000_000
    )
    assert not local_storage.verify_signed_upload(
        key, query["expires"], query["sig"], "text/html", query["max_bytes"]
    )
    assert not local_storage.verify_signed_upload(
        key, query["expires"], query["sig"], "image/jpeg", query["max_bytes"],
        now=int(query["expires"]) + 1,
    )
    # A download signature must not authorise an upload of the same key.
    download = query_of(local_storage.url_for(key, 120))
    assert not local_storage.verify_signed_upload(
        key, download["expires"], download["sig"], "image/jpeg", query["max_bytes"]
    )


def test_local_short_signing_key_rejected(tmp_path):
    with pytest.raises(ValueError):
        LocalStorage(tmp_path, b"short", "http://127.0.0.1:8080/files")


def test_local_os_error_unavailable(local_storage):
    # A regular file where a directory must go makes mkdir fail, as a lost mount would.
    (local_storage.root / "photos").write_bytes(b"not a directory")

    with pytest.raises(StorageUnavailable) as caught:
        local_storage.put("photos/ab/abc/original.jpg", b"x", "image/jpeg")
    assert caught.value.http_status == 503
