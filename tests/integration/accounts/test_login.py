import eventlet
import jwt
import pytest

from samen_common.auth import verify_access_token
from samen_common.errors import InvalidInput, TooManyRequests, Unauthorized
from samen_devtools.demo import DEMO_PASSWORD


def test_login_returns_tokens(call):
    tokens = call("login", "100001", DEMO_PASSWORD)
    caller = verify_access_token(tokens["access_token"])
    assert caller.is_guardian
    assert tokens["expires_in"] <= 15 * 60
    assert len(tokens["refresh_token"]) >= 40


def test_login_wrong_password(call):
    with pytest.raises(Unauthorized) as info:
        call("login", "100001", "wrong-password")
    assert info.value.code == "invalid_credentials"


def test_unknown_account_same_error(call):
    with pytest.raises(Unauthorized) as info:
        call("login", "999999", "wrong-password")
    assert info.value.code == "invalid_credentials"


def test_me_lists_children_with_groups(call):
    token = call("login", "100001", DEMO_PASSWORD)["access_token"]
    profile = call("me", token=token)
    groups = sorted(child["group_name"] for child in profile["children"])
    assert groups == ["Avonturiers", "Vlinders"]
    assert profile["kind"] == "guardian"


def test_refresh_rotates_and_detects_reuse(call):
    first = call("login", "100001", DEMO_PASSWORD)
    second = call("refresh", first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]

    with pytest.raises(Unauthorized):
        call("refresh", first["refresh_token"])
    # Reuse revoked the whole family, including the token issued by the rotation.
    with pytest.raises(Unauthorized):
        call("refresh", second["refresh_token"])


def test_logout_revokes_refresh(call):
    tokens = call("login", "100001", DEMO_PASSWORD)
    call("logout", tokens["refresh_token"])
    with pytest.raises(Unauthorized):
        call("refresh", tokens["refresh_token"])


def test_throttle_slows_guessing_but_not_owner(call):
    for _ in range(5):
        with pytest.raises(Unauthorized):
            call("login", "100002", "guess-guess", address="203.0.113.9")
    # Each further failure doubles the wait (1 s, 2 s, 4 s, ...), so within a few attempts one
    # is held back even on a slow machine where an attempt takes longer than a second.
    throttled = None
    for _ in range(4):
        try:
            call("login", "100002", "guess-guess", address="203.0.113.9")
        except TooManyRequests as exc:
            throttled = exc
            break
        except Unauthorized:
            continue
    assert throttled is not None
    assert int(throttled.params["seconds"]) >= 1
    # The parent on another address logs in at once.
    tokens = call("login", "100002", DEMO_PASSWORD, address="198.51.100.7")
    assert tokens["access_token"]


def test_password_policy_rejects_common(call):
    token = call("login", "100001", DEMO_PASSWORD)["access_token"]
    with pytest.raises(InvalidInput) as info:
        call("change_password", DEMO_PASSWORD, "wachtwoord", token=token)
    assert info.value.code == "password_common"
    assert "veelgebruikte" in info.value.messages["nl"]


def test_password_change_revokes_other_sessions(call):
    other = call("login", "100001", DEMO_PASSWORD)
    current = call("login", "100001", DEMO_PASSWORD)
    call("change_password", DEMO_PASSWORD, "Een-nieuw-en-lang-wachtwoord", token=current["access_token"])
    with pytest.raises(Unauthorized):
        call("refresh", other["refresh_token"])
    assert call("refresh", current["refresh_token"])["access_token"]


def test_access_token_algorithm_allow_list(call):
    token = call("login", "100001", DEMO_PASSWORD)["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims, None, algorithm="none")
    with pytest.raises(Unauthorized):
        verify_access_token(forged)


def test_simultaneous_refresh_counts_as_reuse(call):
    tokens = call("login", "100003", DEMO_PASSWORD)
    results = []

    def use():
        try:
            results.append(call("refresh", tokens["refresh_token"])["refresh_token"])
        except Unauthorized:
            results.append(None)

    threads = [eventlet.spawn(use) for _ in range(4)]
    for thread in threads:
        thread.wait()
    winners = [token for token in results if token]
    assert len(winners) <= 1
    # The reuse revoked the family, so even the winner's token no longer works.
    for token in winners:
        with pytest.raises(Unauthorized):
            call("refresh", token)


def test_wrong_current_password_is_throttled(call):
    token = call("login", "100001", DEMO_PASSWORD)["access_token"]
    outcomes = []
    for attempt in range(10):
        try:
            call("change_password", f"gok-{attempt}-fout", "Een-ander-lang-wachtwoord-77", token=token)
        except InvalidInput:
            outcomes.append("wrong")
        except TooManyRequests:
            outcomes.append("throttled")
            break
    assert outcomes[:5] == ["wrong"] * 5
    assert outcomes[-1] == "throttled"


def test_known_address_exempt_from_address_counter(call, monkeypatch):
    monkeypatch.setenv("SAMEN_LOGIN_FAILURES_PER_ADDRESS", "5")
    call("login", "100001", DEMO_PASSWORD, address="192.0.2.50")
    for number in range(200000, 200006):
        with pytest.raises((Unauthorized, TooManyRequests)):
            call("login", str(number), "guess-guess", address="192.0.2.50")
    with pytest.raises(TooManyRequests):
        call("login", "100003", DEMO_PASSWORD, address="192.0.2.50")
    assert call("login", "100001", DEMO_PASSWORD, address="192.0.2.50")["access_token"]


def test_reset_emails_limited_per_account(call, accounts):
    from sqlalchemy import func, select

    from samen_accounts.models import PasswordResetToken

    for _ in range(5):
        assert call("request_password_reset", "100001") == {"accepted": True}
    engine = next(dep for dep in accounts.dependencies if dep.attr_name == "db").engine
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(PasswordResetToken))
    assert count == 3


def test_password_normalised_to_nfkc(call):
    import unicodedata

    password = "Wachtwoörd-Ñandú-lang-🙂"
    token = call("login", "100001", DEMO_PASSWORD)["access_token"]
    call("change_password", DEMO_PASSWORD, unicodedata.normalize("NFC", password), token=token)
    assert call("login", "100001", unicodedata.normalize("NFD", password))["access_token"]


def test_password_rules_reject_disguised_common(call):
    token = call("login", "100001", DEMO_PASSWORD)["access_token"]
    for weak, code in (
        ("Welkom1!", "password_common"),
        ("ＷＥＬＫＯＭ０１", "password_common"),
        ("aaaaaaaa", "password_too_simple"),
        ("\u200b" * 8 + "abc", "password_invalid_characters"),
    ):
        with pytest.raises(InvalidInput) as info:
            call("change_password", DEMO_PASSWORD, weak, token=token)
        assert info.value.code == code, weak
