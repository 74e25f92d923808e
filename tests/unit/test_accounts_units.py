"""Unit tests of accounts entrypoints with nameko's worker_factory and of the security helpers."""

import uuid
from datetime import timedelta

import pytest
from nameko.testing.services import worker_factory

from samen_accounts.security import pair_delay, password_problem, throttle_settings, token_digest
from samen_accounts.service import AccountsService
from samen_common import i18n
from samen_common.errors import NotFound, Unauthorized


def test_health_with_worker_factory():
    service = worker_factory(AccountsService)
    assert service.health() == {"service": "accounts", "status": "ok"}


def test_scope_of_unknown_id_is_not_found():
    service = worker_factory(AccountsService)
    service.db.execute.return_value.first.return_value = None
    with pytest.raises(NotFound):
        service.scope_of(str(uuid.uuid4()))
    with pytest.raises(NotFound):
        service.scope_of("not-a-uuid")


def test_me_without_caller_is_unauthorized():
    service = worker_factory(AccountsService)
    service.caller.side_effect = Unauthorized()
    with pytest.raises(Unauthorized):
        service.me()


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("kort", "password_too_short"),
        ("password", "password_common"),
        ("Wachtwoord", "password_common"),
        ("welkom123", "password_common"),
        ("x" * 257, "password_too_long"),
        ("mijn-100001-code", "password_contains_account_number"),
        ("Lange-zin-over-de-zee", None),
    ],
)
def test_password_policy(password, problem):
    assert password_problem(password, account_number="100001") == problem


def test_pair_delay_grows_and_is_capped():
    settings = throttle_settings()
    assert pair_delay(4, settings) == timedelta(0)
    assert pair_delay(5, settings) == timedelta(seconds=1)
    assert pair_delay(7, settings) == timedelta(seconds=4)
    assert pair_delay(60, settings) == settings.max_delay


def test_token_digest_is_stable_and_hides_token():
    assert token_digest("abc") == token_digest("abc")
    assert "abc" not in token_digest("abc")
    assert len(token_digest("abc")) == 64


def test_accept_language_quality_values():
    assert i18n.pick_language("en-GB,en;q=0.9,nl;q=0.8") == "en"
    assert i18n.pick_language("fr-FR, nl;q=0.5, en;q=0.4") == "nl"
    assert i18n.pick_language("de") == "nl"
    assert i18n.pick_language("en;q=0, nl;q=0.1") == "nl"
    assert i18n.pick_language(None) == "nl"
