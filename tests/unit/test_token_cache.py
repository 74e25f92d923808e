"""Remembered token verifications still follow the token's time window and exact text."""

import uuid

import pytest

from samen_common import auth
from samen_common.errors import Unauthorized


@pytest.fixture(autouse=True)
def empty_cache():
    auth._verified.clear()
    yield
    auth._verified.clear()


def test_repeat_skips_signature_check(make_token, monkeypatch):
    token = make_token(uuid.uuid4())
    first = auth.verify_access_token(token)
    checks = []
    original = auth._verify_signed
    monkeypatch.setattr(auth, "_verify_signed", lambda *args: checks.append(args) or original(*args))
    assert auth.verify_access_token(token) == first
    assert checks == []


def test_remembered_token_expires(make_token, monkeypatch):
    token = make_token(uuid.uuid4(), ttl_minutes=1)
    auth.verify_access_token(token)
    later = auth.time.time() + 60 + auth.LEEWAY_SECONDS + 1
    monkeypatch.setattr(auth.time, "time", lambda: later)
    with pytest.raises(Unauthorized):
        auth.verify_access_token(token)


def test_changed_signature_rejected(make_token):
    token = make_token(uuid.uuid4())
    auth.verify_access_token(token)
    head, body, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(Unauthorized):
        auth.verify_access_token(".".join([head, body, flipped]))


def test_other_key_rejected(make_token):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    token = make_token(uuid.uuid4())
    auth.verify_access_token(token)
    other = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(Unauthorized):
        auth.verify_access_token(token, other)


def test_cache_is_bounded(make_token, monkeypatch):
    monkeypatch.setattr(auth, "_VERIFIED_LIMIT", 3)
    tokens = [make_token(uuid.uuid4()) for _ in range(5)]
    for token in tokens:
        auth.verify_access_token(token)
    assert len(auth._verified) == 3
    assert (tokens[0], auth.public_key()) not in auth._verified
