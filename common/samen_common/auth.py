"""Access tokens and the caller's identity inside every service.

Accounts signs short-lived JWT access tokens with an Ed25519 private key. The gateway and
every service verify them with the public key, so a service decides who is calling from the
token itself and never from anything the gateway asserts. Only the `EdDSA` algorithm is
accepted, so `alg: none` or an HMAC token signed with the public key fail verification.
"""

from __future__ import annotations

import enum
import os
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jwt
from nameko.extensions import DependencyProvider

from samen_common import context
from samen_common.errors import NotFound, Unauthorized
from samen_common.settings import CommonSettings, common_settings

ALGORITHM = "EdDSA"


class AccountKind(enum.StrEnum):
    GUARDIAN = "guardian"
    """A parent or other person with parental authority who logs in."""
    STAFF = "staff"
    """An employee of the organisation."""


class StaffRole(enum.StrEnum):
    PEDAGOGICAL = "pedagogical"
    """Pedagogical staff (pedagogisch medewerker) working in one or more groups."""
    COORDINATOR = "coordinator"
    """Location coordinator: manages requests, closing days and news for a location."""
    UNIT_MANAGER = "unit_manager"
    """Unit manager: like a coordinator, for every location of a unit."""
    ADMIN = "admin"
    """Organisation administrator: everything, organisation-wide."""


LOCATION_WIDE_ROLES = frozenset({StaffRole.COORDINATOR, StaffRole.UNIT_MANAGER, StaffRole.ADMIN})


@dataclass(frozen=True)
class Caller:
    """The verified identity of the person behind a call."""

    account_id: str
    kind: AccountKind
    organisation_id: str
    roles: frozenset[str] = field(default_factory=frozenset)
    language: str = "nl"
    session_id: str | None = None

    @property
    def is_guardian(self) -> bool:
        return self.kind is AccountKind.GUARDIAN

    @property
    def is_staff(self) -> bool:
        return self.kind is AccountKind.STAFF

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def require_guardian(self) -> "Caller":
        if not self.is_guardian:
            raise NotFound()
        return self

    def require_staff(self) -> "Caller":
        if not self.is_staff:
            raise NotFound()
        return self


@lru_cache(maxsize=4)
def _read_key(path: str) -> bytes:
    return Path(path).read_bytes()


# Every environment variable that `common_settings()` reads.
_SETTINGS_VARIABLES = (
    "SAMEN_ENV", "SAMEN_DATA_DIR", "SAMEN_AMQP_URI", "SAMEN_RPC_TIMEOUT", "SAMEN_JWT_ISSUER",
    "SAMEN_JWT_AUDIENCE", "SAMEN_JWT_PUBLIC_KEY_FILE",
)


def _settings() -> CommonSettings:
    """Return `common_settings()`, built again only when one of the variables it reads changes.

    Building them resolves the project root on disk: about 38 µs against 12 µs for this lookup
    (timeit, Python 3.11, 2-core Xeon), paid twice per verification before.
    """
    return _settings_for(tuple(os.environ.get(name) for name in _SETTINGS_VARIABLES))


@lru_cache(maxsize=8)
def _settings_for(environment: tuple) -> CommonSettings:
    return common_settings()


def public_key() -> bytes:
    settings = _settings()
    try:
        return _read_key(str(settings.jwt_public_key_file))
    except FileNotFoundError as exc:
        raise RuntimeError(
            f"JWT public key not found at {settings.jwt_public_key_file}; run `make keys` "
            "or set SAMEN_JWT_PUBLIC_KEY_FILE"
        ) from exc


LEEWAY_SECONDS = 5
# Tokens whose signature this process has checked, with the claims that decide their validity.
_VERIFIED_LIMIT = 10_000
_verified: OrderedDict[tuple[str, bytes], tuple[Caller, float, float]] = OrderedDict()
_verified_lock = threading.Lock()


def verify_access_token(token: str, key: bytes | None = None) -> Caller:
    """Verify signature, expiry, issuer and audience; raise Unauthorized on any failure.

    The same token arrives with every call of one session, and checking its Ed25519 signature
    is the costliest step. A token that verified once is remembered (the most recent 10,000 per
    process, keyed by the token's exact text and the public key), and later calls with the same
    text only check its time window again. Any other text, including one byte changed, is
    verified from scratch.

    NOTE: there is no deny list of revoked tokens; one added later must be checked on cache
    hits as well.
    """
    key = key or public_key()
    now = time.time()
    with _verified_lock:
        known = _verified.get((token, key))
        if known is not None:
            _verified.move_to_end((token, key))
    if known is not None:
        caller, not_before, expires = known
        if not_before - LEEWAY_SECONDS <= now < expires + LEEWAY_SECONDS:
            return caller
        raise Unauthorized()
    caller, claims = _verify_signed(token, key)
    entry = (caller, float(claims.get("nbf", claims["iat"])), float(claims["exp"]))
    with _verified_lock:
        _verified[(token, key)] = entry
        while len(_verified) > _VERIFIED_LIMIT:
            _verified.popitem(last=False)
    return caller


def _verify_signed(token: str, key: bytes) -> tuple[Caller, dict]:
    settings = _settings()
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            leeway=LEEWAY_SECONDS,
        )
        kind = AccountKind(claims["kind"])
        float(claims.get("nbf", claims["iat"]))
        float(claims["exp"])
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        raise Unauthorized() from None
    if claims.get("typ") != "access":
        raise Unauthorized()
    roles = claims.get("roles", [])
    try:
        uuid.UUID(str(claims["sub"]))
    except ValueError:
        raise Unauthorized() from None
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise Unauthorized()
    caller = Caller(
        account_id=claims["sub"],
        kind=kind,
        organisation_id=claims.get("org", ""),
        roles=frozenset(roles),
        language=claims.get("lang", "nl"),
        session_id=claims.get("sid"),
    )
    return caller, claims


class _LazyCaller:
    def __init__(self, worker_ctx):
        self._worker_ctx = worker_ctx
        self._caller: Caller | None = None

    def __call__(self) -> Caller:
        """Return the verified caller; raise Unauthorized when the call carries no valid token."""
        if self._caller is None:
            token = self._worker_ctx.data.get(context.ACCESS_TOKEN)
            if not token:
                raise Unauthorized()
            self._caller = verify_access_token(token)
        return self._caller

    @property
    def present(self) -> bool:
        return bool(self._worker_ctx.data.get(context.ACCESS_TOKEN))


class CallerIdentity(DependencyProvider):
    """`self.caller()` returns the verified Caller of the current RPC."""

    def get_dependency(self, worker_ctx):
        return _LazyCaller(worker_ctx)
