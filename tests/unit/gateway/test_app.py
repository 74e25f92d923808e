"""The gateway's HTTP contract without services: errors, languages, limits and the OpenAPI document."""

import dataclasses

import pytest

from samen_gateway.app import create_app
from samen_gateway.settings import gateway_settings


@pytest.fixture
def client():
    settings = gateway_settings()
    common = dataclasses.replace(settings.common, amqp_uri="amqp://guest:guest@127.0.0.1:1/")
    settings = dataclasses.replace(
        settings, common=common, rpc_timeout=0.5, max_body_bytes=1024, cors_origins=["https://portal.example.org"]
    )
    app = create_app(settings)
    return app.test_client()


def test_healthz_without_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_broker_down_is_503_with_retry_after(client):
    response = client.post("/api/v1/auth/login", json={"account_number": "100001", "password": "x"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.json["error"]["code"] == "service_unavailable"
    assert response.json["error"]["request_id"]


def test_readyz_reports_not_ready(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["services"]["accounts"]["status"] == "unavailable"


def test_missing_token_is_401(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_malformed_authorization_is_401(client):
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer "}).status_code == 401


def test_language_from_accept_language(client):
    english = client.get("/api/v1/me", headers={"Accept-Language": "en-US,en;q=0.8"})
    dutch = client.get("/api/v1/me", headers={"Accept-Language": "nl-NL"})
    default = client.get("/api/v1/me")
    assert "log in" in english.json["error"]["message"]
    assert "ingelogd" in dutch.json["error"]["message"]
    assert default.json["error"]["message"] == dutch.json["error"]["message"]


def test_body_limit_is_json_413(client):
    response = client.post("/api/v1/auth/login", data=b"{" + b" " * 4096 + b"}", content_type="application/json")
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_invalid_json_is_400(client):
    response = client.post("/api/v1/auth/login", data=b"{not json", content_type="application/json")
    assert response.status_code == 400


def test_unknown_field_rejected(client):
    response = client.post(
        "/api/v1/auth/login", json={"account_number": "1", "password": "x", "admin": True}
    )
    assert response.status_code == 400
    assert "admin" in response.json["error"]["details"]


def test_request_id_echoed_or_created(client):
    echoed = client.get("/healthz", headers={"X-Request-ID": "abcdefgh-1234"})
    assert echoed.headers["X-Request-ID"] == "abcdefgh-1234"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert replaced.headers["X-Request-ID"] != "bad id with spaces"
    assert len(replaced.headers["X-Request-ID"]) == 32


def test_cors_only_for_configured_origin(client):
    allowed = client.options(
        "/api/v1/me", headers={"Origin": "https://portal.example.org", "Access-Control-Request-Method": "GET"}
    )
    other = client.options(
        "/api/v1/me", headers={"Origin": "https://evil.example.net", "Access-Control-Request-Method": "GET"}
    )
    assert allowed.headers.get("Access-Control-Allow-Origin") == "https://portal.example.org"
    assert "Access-Control-Allow-Origin" not in other.headers


def test_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"] == "3.0.3"
    login = spec["paths"]["/api/v1/auth/login"]["post"]
    assert login["requestBody"]["content"]["application/json"]["schema"]
    assert "401" in login["responses"]
    assert spec["paths"]["/api/v1/me"]["get"]["security"] == [{"bearer": []}]


def test_unknown_path_is_json_404(client):
    response = client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
