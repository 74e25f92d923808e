"""Passwords, tokens and login throttling."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from samen_common.auth import ALGORITHM
from samen_common.settings import common_settings, env_int, env_str

# Argon2id with the RFC 9106 "second recommended" memory setting (64 MiB, 3 passes).
_hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)
# Verified against when the account number is unknown, so the reply takes as long.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256

# Dutch passwords that the English-centred zxcvbn list misses.
_DUTCH_COMMON = {
    "wachtwoord", "wachtwoord1", "wachtwoord123", "welkom", "welkom01", "welkom123", "welkom2026",
    "voetbal", "voetbal1", "geheim", "geheim123", "zomer2026", "winter2026", "ajax1900",
    "feyenoord", "kinderopvang", "samen123", "welkombijsamen",
}


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"]) | _DUTCH_COMMON


def normalise_password(password: str) -> str:
    """Return the NFKC form, so the same password typed on different devices matches."""
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    return _hasher.hash(normalise_password(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password in constant work whether or not the account exists."""
    try:
        matched = _hasher.verify(password_hash or _DUMMY_HASH, normalise_password(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError, UnicodeEncodeError):
        return False
    return matched and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# Letter substitutions people use to dress up a common word ("Passw0rd", "W3lkom").
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_TRAILING_DIGITS_AND_SYMBOLS = re.compile(r"[\d\W_]+$")


def password_problem(password: str, *, account_number: str | None = None) -> str | None:
    """Return the message key that explains why a new password is rejected, or None.

    The checks run on the NFKC form that is hashed, so full-width or composed characters cannot
    dress up a common password.
    """
    normalised = normalise_password(password)
    if any(unicodedata.category(char).startswith("C") for char in normalised):
        return "password_invalid_characters"
    if len(normalised) < MIN_PASSWORD_LENGTH:
        return "password_too_short"
    if not normalised.strip():
        return "password_too_simple"
    if len(normalised) > MAX_PASSWORD_LENGTH:
        return "password_too_long"
    folded = normalised.casefold()
    if len(set(folded)) < 3:
        return "password_too_simple"
    if _is_common(folded):
        return "password_common"
    if account_number and account_number in normalised:
        return "password_contains_account_number"
    return None


def _is_common(folded: str) -> bool:
    common = common_passwords()
    if folded in common or folded.translate(_LEET) in common:
        return True
    # A common word with digits or symbols added at the end ("Welkom1!", "Qwerty123!").
    base = _TRAILING_DIGITS_AND_SYMBOLS.sub("", folded)
    if len(base) >= 4 and (base in common or base.translate(_LEET) in common):
        return True
    return False


def opaque_token() -> str:
    """Return a URL-safe token with 256 random bits."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenSettings:
    access_ttl: timedelta
    refresh_ttl: timedelta
    remember_me_ttl: timedelta
    reset_ttl: timedelta
    private_key_file: Path


def token_settings() -> TokenSettings:
    common = common_settings()
    access_minutes = env_int("SAMEN_ACCESS_TOKEN_MINUTES", 10)
    if not 1 <= access_minutes <= 15:
        raise ValueError("SAMEN_ACCESS_TOKEN_MINUTES must be between 1 and 15")
    reset_minutes = env_int("SAMEN_RESET_TOKEN_MINUTES", 30)
    if not 1 <= reset_minutes <= 60:
        raise ValueError("SAMEN_RESET_TOKEN_MINUTES must be between 1 and 60")
    return TokenSettings(
        access_ttl=timedelta(minutes=access_minutes),
        refresh_ttl=timedelta(hours=env_int("SAMEN_REFRESH_TOKEN_HOURS", 12)),
        remember_me_ttl=timedelta(days=env_int("SAMEN_REMEMBER_ME_DAYS", 60)),
        reset_ttl=timedelta(minutes=reset_minutes),
        private_key_file=Path(
            env_str("SAMEN_JWT_PRIVATE_KEY_FILE", str(common.data_dir / "keys" / "jwt-private.pem"))
        ),
    )


@lru_cache(maxsize=2)
def _private_key(path: str) -> bytes:
    return Path(path).read_bytes()


def issue_access_token(
    *,
    account_id: uuid.UUID,
    kind: str,
    organisation_id: uuid.UUID,
    roles: list[str],
    language: str,
    session_id: uuid.UUID,
    now: datetime,
    settings: TokenSettings,
) -> str:
    common = common_settings()
    claims = {
        "iss": common.jwt_issuer,
        "aud": common.jwt_audience,
        "sub": str(account_id),
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + settings.access_ttl).timestamp()),
        "jti": uuid.uuid4().hex,
        "typ": "access",
        "kind": kind,
        "org": str(organisation_id),
        "roles": sorted(roles),
        "lang": language,
        "sid": str(session_id),
    }
    return jwt.encode(claims, _private_key(str(settings.private_key_file)), algorithm=ALGORITHM)


# Login throttling. Three counters over a sliding window, none of which is a hard lockout:
# - per account number and client address: each failure past the free ones doubles the wait;
# - per client address over all accounts: stops one address from guessing many accounts;
# - per account number over all addresses: stops a distributed guess, but does not apply to
#   addresses that logged in to this account successfully before, so an attacker elsewhere
#   cannot keep the parent out.


@dataclass(frozen=True)
class ThrottleSettings:
    window: timedelta
    free_failures_per_pair: int
    max_delay: timedelta
    failures_per_address: int
    failures_per_account: int
    known_address_days: int


def throttle_settings() -> ThrottleSettings:
    return ThrottleSettings(
        window=timedelta(minutes=env_int("SAMEN_LOGIN_WINDOW_MINUTES", 15)),
        free_failures_per_pair=env_int("SAMEN_LOGIN_FREE_FAILURES", 5),
        max_delay=timedelta(seconds=env_int("SAMEN_LOGIN_MAX_DELAY_SECONDS", 900)),
        failures_per_address=env_int("SAMEN_LOGIN_FAILURES_PER_ADDRESS", 50),
        failures_per_account=env_int("SAMEN_LOGIN_FAILURES_PER_ACCOUNT", 20),
        known_address_days=env_int("SAMEN_LOGIN_KNOWN_ADDRESS_DAYS", 90),
    )


def pair_delay(failures: int, settings: ThrottleSettings) -> timedelta:
    """Return how long to wait after `failures` recent failures of one account and address."""
    extra = failures - settings.free_failures_per_pair
    if extra < 0:
        return timedelta(0)
    seconds = min(settings.max_delay.total_seconds(), 2 ** min(extra, 20))
    return timedelta(seconds=seconds)
