"""Login, tokens, password reset and the gateway's error contract, over HTTP."""

import base64
import json
import re
import time

import jwt
import requests

PASSWORD = "Welkom-bij-Samen-2026"


def test_healthz_and_readyz(platform):
    assert platform.get("/healthz").json() == {"status": "ok"}
    ready = platform.get("/readyz").json()
    assert ready["services"]["accounts"]["status"] == "ok"


def test_login_and_me(platform):
    tokens = platform.login("100001")
    assert tokens["expires_in"] <= 900
    response = platform.get("/api/v1/me", tokens["access_token"])
    assert response.status_code == 200
    body = response.json()
    assert body["account_number"] == "100001"
    assert sorted(child["group_name"] for child in body["children"]) == ["Avonturiers", "Vlinders"]
    assert all(child["location_name"] for child in body["children"])
    assert response.headers["X-Request-ID"]


def test_wrong_password_is_401_in_dutch_and_english(platform):
    dutch = platform.post("/api/v1/auth/login", json={"account_number": "100001", "password": "nope-nope"})
    assert dutch.status_code == 401
    assert dutch.json()["error"]["code"] == "invalid_credentials"
    assert "wachtwoord" in dutch.json()["error"]["message"]
    english = platform.post(
        "/api/v1/auth/login", json={"account_number": "100001", "password": "nope-nope"},
        headers={"Accept-Language": "en-GB,en;q=0.9"},
    )
    assert "password" in english.json()["error"]["message"]
    assert english.json()["error"]["request_id"]


def test_request_id_is_propagated(platform):
    response = platform.post(
        "/api/v1/auth/login", json={"account_number": "100001", "password": PASSWORD},
        headers={"X-Request-ID": "trace-e2e-12345678"},
    )
    assert response.headers["X-Request-ID"] == "trace-e2e-12345678"
    deadline = time.monotonic() + 5
    while "trace-e2e-12345678" not in platform.logs() and time.monotonic() < deadline:
        time.sleep(0.2)
    service_lines = [line for line in platform.logs().splitlines() if "trace-e2e-12345678" in line and '"service": "accounts"' in line]
    assert service_lines


def test_validation_error_names_fields(platform):
    response = platform.post("/api/v1/auth/login", json={"account_number": "100001"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_failed"
    assert "password" in response.json()["error"]["details"]


def test_body_too_large_is_json_413(platform):
    response = platform.post(
        "/api/v1/auth/login", data=b"x" * (26 * 1024 * 1024), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_refresh_rotation_and_reuse(platform):
    first = platform.login("100003")
    second = platform.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    reuse = platform.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    after = platform.post("/api/v1/auth/refresh", json={"refresh_token": second.json()["refresh_token"]})
    assert after.status_code == 401


def test_logout_revokes(platform):
    tokens = platform.login("100003")
    assert platform.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 200
    assert platform.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def _forge(token: str, header: dict) -> str:
    _, payload, signature = token.split(".")
    head = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return f"{head}.{payload}.{signature}"


def test_bad_tokens_are_401(platform):
    token = platform.login("100001")["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})

    alg_none = jwt.encode(claims, None, algorithm="none")
    wrong_signature = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    wrong_audience = jwt.encode({**claims, "aud": "someone-else"}, "x" * 32, algorithm="HS256")
    hs256_with_public_key = _forge(token, {"alg": "HS256", "typ": "JWT"})
    expired_claims = {**claims, "exp": int(time.time()) - 60}
    expired = _forge(token, {"alg": "EdDSA", "typ": "JWT"}).rsplit(".", 2)[0]
    expired = jwt.encode(expired_claims, None, algorithm="none")

    for bad in (alg_none, wrong_signature, wrong_audience, hs256_with_public_key, expired, "not-a-jwt"):
        response = platform.get("/api/v1/me", bad)
        assert response.status_code == 401, bad
        assert response.json()["error"]["code"] == "unauthorized"


def test_expired_token_signed_by_accounts_is_401(platform, tmp_path):
    from datetime import datetime, timedelta, timezone
    import uuid

    from samen_accounts.security import issue_access_token, token_settings

    settings = token_settings()
    token = issue_access_token(
        account_id=uuid.uuid4(), kind="guardian", organisation_id=uuid.uuid4(), roles=[], language="nl",
        session_id=uuid.uuid4(), now=datetime.now(timezone.utc) - timedelta(hours=1), settings=settings,
    )
    assert platform.get("/api/v1/me", token).status_code == 401


def test_password_reset_flow(platform):
    unknown = platform.post("/api/v1/auth/password-reset", json={"account_number": "123456"})
    known = platform.post("/api/v1/auth/password-reset", json={"account_number": "100020"})
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()

    message = platform.wait_for_mail(lambda m: m["To"] and "ouder100020@example.org" in m["To"])
    text = message.get_body(preferencelist=("plain",)).get_content()
    token = re.search(r"token=([A-Za-z0-9_\-]+)", text).group(1)

    weak = platform.post("/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": "welkom123"})
    assert weak.status_code == 400
    assert weak.json()["error"]["code"] == "password_common"

    done = platform.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": "Een-heel-nieuw-wachtwoord-2026"}
    )
    assert done.status_code == 200
    again = platform.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": "Nog-een-ander-wachtwoord-2026"}
    )
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "reset_token_invalid"

    assert platform.login("100020", "Een-heel-nieuw-wachtwoord-2026")["access_token"]
    platform.wait_for_mail(
        lambda m: "ouder100020@example.org" in (m["To"] or "") and m is not message and "token=" not in
        m.get_body(preferencelist=("plain",)).get_content()
    )


def test_throttling_over_http(platform):
    statuses = []
    for _ in range(8):
        response = platform.post("/api/v1/auth/login", json={"account_number": "100010", "password": "wrong-guess"})
        statuses.append(response.status_code)
    assert statuses[:5] == [401] * 5
    assert 429 in statuses[5:]
    throttled = [r for r in statuses if r == 429]
    assert throttled


def test_openapi_lists_endpoints(platform):
    spec = platform.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/auth/login" in spec["paths"]
    assert "requestBody" in spec["paths"]["/api/v1/auth/login"]["post"]


def test_unknown_route_is_json_404(platform):
    response = platform.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_concurrent_requests_share_pooled_connections(platform):
    from concurrent.futures import ThreadPoolExecutor

    token = platform.login("100001")["access_token"]

    def fetch(_):
        return requests.get(f"{platform.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(fetch, range(200)))
    assert statuses.count(200) == 200
    connections = requests.get(
        "http://127.0.0.1:15672/api/connections", auth=("guest", "guest"), timeout=10
    ).json()
    gateway_connections = [c for c in connections if c.get("vhost") == platform.vhost]
    # Every service keeps a few connections; the gateway adds at most one per pool slot.
    assert len(gateway_connections) <= 5 * 6 + 16 + 4
