"""The accounts service: organisation structure, logins, tokens and access scopes."""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime, timedelta

import structlog
from eventlet import tpool

from samen_accounts import messages  # noqa: F401 - registers the service's texts
from samen_accounts import queries
from sqlalchemy import select, update

from samen_accounts.models import (
    Account,
    AuditEntry,
    Child,
    LoginAttempt,
    OutboxMessage,
    PasswordResetToken,
    RefreshToken,
)
from samen_accounts.scopes import guardian_scope, staff_scope
from samen_accounts import staff_events  # a module: `nameko run` would start an imported mixin class as a service
from samen_accounts.security import (
    hash_password,
    issue_access_token,
    needs_rehash,
    normalise_password,
    opaque_token,
    pair_delay,
    password_problem,
    throttle_settings,
    token_digest,
    token_settings,
    verify_password,
)
from samen_common.auth import AccountKind, CallerIdentity
from samen_common.context import RequestContext
from samen_common.db import Database, atomic, read_without_transaction
from samen_common.errors import InvalidInput, NotFound, TooManyRequests, Unauthorized
from samen_common.logs import configure_logging
from samen_common.outbox import Outbox
from samen_common.rpc import rpc
from samen_common.timeutil import local_today, utcnow

configure_logging("accounts")
log = structlog.get_logger(__name__)

UNKNOWN_ADDRESS = "unknown"
# At most this many reset e-mails per account within the window. Further requests get the same
# response but send nothing.
RESET_REQUESTS_PER_WINDOW = 3
RESET_REQUEST_WINDOW = timedelta(minutes=15)


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        raise NotFound() from None


def _uuids(values) -> list[uuid.UUID]:
    result = []
    for value in values or []:
        try:
            result.append(uuid.UUID(str(value)))
        except (TypeError, ValueError):
            continue
    return result


class AccountsService(staff_events.StaffEventsMixin):
    name = "accounts"

    db = Database("accounts")
    outbox = Outbox(OutboxMessage)
    context = RequestContext()
    caller = CallerIdentity()

    @rpc
    def health(self) -> dict:
        return {"service": self.name, "status": "ok"}

    # Login, tokens and passwords.

    @rpc
    def login(self, account_number: str, password: str, remember_me: bool = False) -> dict:
        account_number = (account_number or "").strip()[:64]
        address = self.context.client_address or UNKNOWN_ADDRESS
        now = utcnow()

        with atomic(self.db):
            wait = self._throttle_wait(account_number, address, now)
            if wait:
                queries.insert_audit(
                    self.db, "login_throttled", account_number=account_number, client_address=address,
                    request_id=self.context.request_id, details={"retry_after": wait},
                )
        if wait:
            raise TooManyRequests("login_throttled", seconds=wait)

        account = queries.account_by_number(self.db, account_number)
        stored_hash = account.password_hash if account is not None and account.active else None
        valid = tpool.execute(verify_password, stored_hash, password or "")

        with atomic(self.db):
            self.db.add(LoginAttempt(account_number=account_number, client_address=address, succeeded=valid))
            if not valid:
                queries.insert_audit(
                    self.db, "login_failed", account_id=account.id if account else None,
                    account_number=account_number, client_address=address, request_id=self.context.request_id,
                )
                log.info("login.failed", account_number=account_number, client_address=address)
                failed = True
            else:
                failed = False
                if needs_rehash(account.password_hash):
                    account.password_hash = tpool.execute(hash_password, password)
                queries.insert_audit(
                    self.db, "login_succeeded", account_id=account.id, account_number=account_number,
                    client_address=address, request_id=self.context.request_id,
                    details={"remember_me": bool(remember_me)},
                )
                tokens = self._start_session(account, bool(remember_me), address, now)
        if failed:
            raise Unauthorized("invalid_credentials")
        log.info("login.succeeded", account_id=str(account.id))
        return tokens

    def _throttle_wait(self, account_number: str, address: str, now: datetime) -> int:
        """Return the seconds this account number and address must wait, or 0.

        An address that logged in to this account before is exempt from the address-wide and
        account-wide counters, so neither a guesser elsewhere nor others behind the same address
        (a shared network) can keep the account's owner out. The per-pair wait still applies.
        """
        settings = throttle_settings()
        since = now - settings.window
        known = queries.is_known_address(
            self.db, account_number=account_number, client_address=address,
            since=now - _days(settings.known_address_days),
        )

        if not known:
            per_address = queries.count_failures(self.db, since=since, client_address=address)
            if per_address >= settings.failures_per_address:
                return self._window_wait(
                    now, since, per_address - settings.failures_per_address, client_address=address
                )
            per_account = queries.count_failures_from_unknown_addresses(
                self.db, since=since, known_since=now - _days(settings.known_address_days),
                account_number=account_number,
            )
            if per_account >= settings.failures_per_account:
                return self._window_wait(
                    now, since, per_account - settings.failures_per_account, account_number=account_number
                )

        per_pair = queries.count_failures(self.db, since=since, account_number=account_number, client_address=address)
        delay = pair_delay(per_pair, settings)
        if delay.total_seconds() > 0:
            last = queries.last_failure_at(self.db, since=since, account_number=account_number, client_address=address)
            remaining = (last + delay - now).total_seconds() if last else 0
            if remaining > 0:
                return max(1, math.ceil(remaining))
        return 0

    def _window_wait(self, now: datetime, since: datetime, offset: int, **scope) -> int:
        """Return the seconds until enough failures leave the window for the count to drop below its limit."""
        oldest = queries.nth_failure_time(self.db, since=since, offset=offset, **scope)
        if oldest is None:
            return 1
        window = throttle_settings().window
        return max(1, math.ceil((oldest + window - now).total_seconds()))

    def _start_session(self, account: Account, remember_me: bool, address: str, now: datetime) -> dict:
        family_id = uuid.uuid4()
        refresh = self._new_refresh_token(account, family_id, remember_me, address, now)
        return self._token_response(account, family_id, refresh, now)

    def _new_refresh_token(self, account: Account, family_id: uuid.UUID, remember_me: bool, address: str, now: datetime) -> str:
        settings = token_settings()
        raw = opaque_token()
        ttl = settings.remember_me_ttl if remember_me else settings.refresh_ttl
        self.db.add(
            RefreshToken(
                account_id=account.id, family_id=family_id, token_hash=token_digest(raw),
                remember_me=remember_me, expires_at=now + ttl, client_address=address,
            )
        )
        return raw

    def _token_response(self, account: Account, family_id: uuid.UUID, refresh: str, now: datetime) -> dict:
        settings = token_settings()
        roles = sorted({assignment.role for assignment in queries.staff_roles(self.db, account.id)})
        access = issue_access_token(
            account_id=account.id, kind=account.kind, organisation_id=account.organisation_id,
            roles=roles, language=account.language, session_id=family_id, now=now, settings=settings,
        )
        return {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": int(settings.access_ttl.total_seconds()),
        }

    @rpc
    def refresh(self, refresh_token: str) -> dict:
        """Rotate a refresh token; a second use of a rotated token revokes the whole login.

        The row lock serialises concurrent uses of one token. The first use rotates it, and every
        later one, even a simultaneous one, reads it as rotated and is treated as reuse.
        """
        now = utcnow()
        address = self.context.client_address or UNKNOWN_ADDRESS
        outcome = "invalid"
        with atomic(self.db):
            row = queries.refresh_token_for_update(self.db, token_digest(refresh_token or ""))
            account = self.db.get(Account, row.account_id) if row is not None else None
            if row is None:
                outcome = "invalid"
            elif row.rotated_at is not None:
                queries.revoke_family(self.db, row.family_id, "reuse_detected", now)
                queries.insert_audit(
                    self.db, "refresh_token_reused", account_id=row.account_id, client_address=address,
                    request_id=self.context.request_id, details={"family_id": str(row.family_id)},
                )
                log.warning("refresh.reuse_detected", account_id=str(row.account_id), family_id=str(row.family_id))
                outcome = "reused"
            elif row.revoked_at is not None or row.expires_at <= now or not account.active:
                outcome = "invalid"
            else:
                row.rotated_at = now
                new_refresh = self._new_refresh_token(account, row.family_id, row.remember_me, address, now)
                response = self._token_response(account, row.family_id, new_refresh, now)
                outcome = "rotated"
        if outcome != "rotated":
            raise Unauthorized("refresh_token_invalid")
        return response

    @rpc
    def logout(self, refresh_token: str | None = None) -> dict:
        now = utcnow()
        caller = self.caller() if self.caller.present else None
        with atomic(self.db):
            family_id = None
            account_id = None
            if refresh_token:
                row = queries.refresh_token_for_update(self.db, token_digest(refresh_token))
                if row is not None:
                    family_id, account_id = row.family_id, row.account_id
            if family_id is None and caller is not None and caller.session_id:
                family_id, account_id = uuid.UUID(caller.session_id), uuid.UUID(caller.account_id)
            if family_id is not None:
                queries.revoke_family(self.db, family_id, "logout", now)
                queries.insert_audit(
                    self.db, "logout", account_id=account_id, client_address=self.context.client_address,
                    request_id=self.context.request_id,
                )
        return {"logged_out": True}

    @rpc
    def logout_everywhere(self) -> dict:
        caller = self.caller()
        now = utcnow()
        with atomic(self.db):
            queries.revoke_account_families(self.db, uuid.UUID(caller.account_id), "logout_everywhere", now)
            queries.insert_audit(
                self.db, "logout_everywhere", account_id=uuid.UUID(caller.account_id),
                client_address=self.context.client_address, request_id=self.context.request_id,
            )
        return {"logged_out": True}

    @rpc
    def change_password(self, current_password: str, new_password: str) -> dict:
        """Change the caller's password after checking the current one; revoke other logins.

        Wrong current passwords count as failed logins of the account from the caller's
        address, so a stolen session cannot be used to guess the password without limit.
        """
        caller = self.caller()
        account = self.db.get(Account, uuid.UUID(caller.account_id))
        if account is None or not account.active:
            raise Unauthorized()
        address = self.context.client_address or UNKNOWN_ADDRESS
        now = utcnow()
        with atomic(self.db):
            wait = self._throttle_wait(account.account_number, address, now)
        if wait:
            raise TooManyRequests("login_throttled", seconds=wait)

        if not tpool.execute(verify_password, account.password_hash, normalise_password(current_password or "")):
            with atomic(self.db):
                self.db.add(LoginAttempt(account_number=account.account_number, client_address=address, succeeded=False))
                queries.insert_audit(
                    self.db, "password_change_failed", account_id=account.id,
                    client_address=address, request_id=self.context.request_id,
                )
            raise InvalidInput("current_password_wrong")
        self._check_policy(new_password, account)
        if normalise_password(current_password) == normalise_password(new_password):
            raise InvalidInput("password_same_as_current")

        new_hash = tpool.execute(hash_password, new_password)
        with atomic(self.db):
            account = self.db.get(Account, account.id, with_for_update=True)
            account.password_hash = new_hash
            account.password_changed_at = now
            keep = uuid.UUID(caller.session_id) if caller.session_id else None
            queries.revoke_account_families(self.db, account.id, "password_changed", now, keep_family=keep)
            queries.insert_audit(
                self.db, "password_changed", account_id=account.id,
                client_address=address, request_id=self.context.request_id,
            )
            self.outbox.add(self.db, "password_changed", {"account_id": str(account.id)})
        return {"changed": True}

    def _check_policy(self, password: str, account: Account | None) -> None:
        problem = password_problem(password or "", account_number=account.account_number if account else None)
        if problem:
            raise InvalidInput(problem)

    @rpc
    def request_password_reset(self, account_number: str) -> dict:
        account_number = (account_number or "").strip()[:64]
        now = utcnow()
        settings = token_settings()
        raw = opaque_token()
        with atomic(self.db):
            account = queries.account_by_number(self.db, account_number)
            sendable = account is not None and account.active and account.email
            if sendable and queries.count_recent_reset_tokens(
                self.db, account.id, now - RESET_REQUEST_WINDOW
            ) >= RESET_REQUESTS_PER_WINDOW:
                # The response stays the same, but no more e-mails go out until the window passes.
                log.info("password_reset.limited", account_id=str(account.id))
                sendable = False
            if sendable:
                self.db.add(
                    PasswordResetToken(account_id=account.id, token_hash=token_digest(raw), expires_at=now + settings.reset_ttl)
                )
                self.outbox.add(
                    self.db,
                    "password_reset_requested",
                    {
                        "account_id": str(account.id),
                        "expires_at": (now + settings.reset_ttl).isoformat(),
                        "secret_token": raw,
                    },
                )
            queries.insert_audit(
                self.db, "password_reset_requested", account_id=account.id if account else None,
                account_number=account_number, client_address=self.context.client_address,
                request_id=self.context.request_id, details={"account_found": account is not None},
            )
        return {"accepted": True}

    @rpc
    def confirm_password_reset(self, token: str, new_password: str) -> dict:
        now = utcnow()
        with atomic(self.db):
            row = queries.reset_token_for_update(self.db, token_digest(token or ""))
            if row is None or row.used_at is not None or row.expires_at <= now:
                queries.insert_audit(
                    self.db, "password_reset_rejected", account_id=row.account_id if row else None,
                    client_address=self.context.client_address, request_id=self.context.request_id,
                )
                rejected = True
            else:
                rejected = False
                account_id = row.account_id
        if rejected:
            raise InvalidInput("reset_token_invalid")

        account = self.db.get(Account, account_id)
        self._check_policy(new_password, account)
        new_hash = tpool.execute(hash_password, new_password)

        with atomic(self.db):
            row = queries.reset_token_for_update(self.db, token_digest(token))
            if row.used_at is not None:
                raise InvalidInput("reset_token_invalid")
            row.used_at = now
            self.db.execute(
                update(PasswordResetToken)
                .where(PasswordResetToken.account_id == account_id, PasswordResetToken.used_at.is_(None))
                .values(used_at=now)
            )
            account = self.db.get(Account, account_id, with_for_update=True)
            account.password_hash = new_hash
            account.password_changed_at = now
            queries.revoke_account_families(self.db, account_id, "password_reset", now)
            queries.insert_audit(
                self.db, "password_reset_completed", account_id=account_id,
                client_address=self.context.client_address, request_id=self.context.request_id,
            )
            self.outbox.add(self.db, "password_reset_completed", {"account_id": str(account_id)})
        return {"reset": True}

    # Profile.

    @rpc
    def me(self) -> dict:
        caller = self.caller()
        read_without_transaction(self.db)
        account = queries.account_profile(self.db, uuid.UUID(caller.account_id))
        if account is None or not account.active:
            raise Unauthorized()
        profile = {
            "id": str(account.id),
            "account_number": account.account_number,
            "kind": account.kind,
            "display_name": account.display_name,
            "email": account.email,
            "language": account.language,
        }
        if account.kind == AccountKind.GUARDIAN:
            profile["children"] = guardian_scope(self.db, account.id, local_today())["children"]
        else:
            scope = staff_scope(self.db, account, local_today())
            profile["roles"] = scope["roles"]
            profile["groups"] = scope["groups"]
        return profile

    @rpc
    def update_me(self, language: str | None = None) -> dict:
        caller = self.caller()
        with atomic(self.db):
            account = self.db.get(Account, uuid.UUID(caller.account_id), with_for_update=True)
            if language is not None:
                if language not in ("nl", "en"):
                    raise InvalidInput("unsupported_language", value=language)
                account.language = language
                self.outbox.add(self.db, "account_language_changed", {"account_id": str(account.id), "language": language})
        return self.me()

    # Access scopes and look-ups for other services. These run on the internal broker only;
    # the gateway exposes none of them directly.

    @rpc
    def access_scope(self) -> dict:
        """Return what the calling account may see: a guardian's children or a staff member's groups."""
        caller = self.caller()
        return self.scope_of(caller.account_id)

    @rpc
    def scope_of(self, account_id: str) -> dict:
        read_without_transaction(self.db)
        account = queries.account_profile(self.db, _uuid(account_id))
        if account is None or not account.active:
            raise NotFound()
        if account.kind == AccountKind.GUARDIAN:
            return guardian_scope(self.db, account.id, local_today())
        return staff_scope(self.db, account, local_today())

    @rpc
    def scope_of_account_number(self, account_number: str) -> dict:
        """Return `scope_of` for an account number, as named by staff-tool events."""
        account = queries.account_by_number(self.db, str(account_number or "").strip()[:64])
        if account is None or not account.active:
            raise NotFound()
        return self.scope_of(str(account.id))

    @rpc
    def guardian_placement_locations(self, account_id: str, since: str) -> list[str]:
        """Return the location ids of a guardian's children's placements that last until `since` (YYYY-MM-DD) or later.

        This includes placements that ended, so staff can still send documents about an earlier
        period, such as an annual statement, after care has ended.
        """
        try:
            day = date.fromisoformat(str(since))
        except ValueError:
            raise InvalidInput("invalid_input", field="since", value=str(since)[:20]) from None
        read_without_transaction(self.db)
        account = queries.account_profile(self.db, _uuid(account_id))
        if account is None or not account.active or account.kind != AccountKind.GUARDIAN:
            raise NotFound()
        return sorted(str(location_id) for location_id in queries.guardian_placement_locations(self.db, account.id, day))

    @rpc
    def children_consent(self, child_ids: list[str]) -> dict:
        """Return {child id: photo consent now}; consent ends with the child's care."""
        today = local_today()
        result = {}
        for child in queries.children_by_ids(self.db, _uuids(child_ids)):
            ended = child.care_ended_on is not None and child.care_ended_on < today
            result[str(child.id)] = bool(child.photo_consent) and not ended
        return result

    @rpc
    def children(self, child_ids: list[str]) -> list[dict]:
        """Return name, birth date, consent and current group of each known child."""
        today = local_today()
        ids = _uuids(child_ids)
        placements = {}
        for placement in queries.current_placements(self.db, ids, today):
            placements.setdefault(placement.child_id, placement)
        groups = dict(
            (group.id, (group, location))
            for group, location in queries.groups_with_locations(self.db, {p.group_id for p in placements.values()})
        )
        result = []
        for child in queries.children_by_ids(self.db, ids):
            placement = placements.get(child.id)
            group, location = groups.get(placement.group_id, (None, None)) if placement else (None, None)
            result.append(_child_dict(child, group, location, today))
        return result

    @rpc
    def guardians_of_children(self, child_ids: list[str]) -> dict:
        """Return {child id: [guardian account ids]} for active guardians."""
        result: dict[str, list[str]] = {}
        links = queries.guardian_links(self.db, _uuids(child_ids))
        active = {a.id for a in queries.accounts_by_ids(self.db, {link.guardian_id for link in links}) if a.active}
        for link in links:
            if link.guardian_id in active:
                result.setdefault(str(link.child_id), []).append(str(link.guardian_id))
        return result

    @rpc
    def staff_of_groups(self, group_ids: list[str]) -> dict:
        """Return {group id: [staff account ids]}."""
        result: dict[str, list[str]] = {}
        for link in queries.staff_in_groups(self.db, _uuids(group_ids)):
            result.setdefault(str(link.group_id), []).append(str(link.staff_id))
        return result

    @rpc
    def children_of_groups(self, group_ids: list[str], on: str | None = None) -> dict:
        """Return {group id: [child ids]} for placements active on `on` (default today)."""
        day = date.fromisoformat(on) if on else local_today()
        result: dict[str, list[str]] = {}
        for child_id, group_id in queries.children_in_groups(self.db, _uuids(group_ids), day):
            result.setdefault(str(group_id), []).append(str(child_id))
        return result

    @rpc
    def groups(self, group_ids: list[str]) -> list[dict]:
        return [
            {
                "id": str(group.id), "name": group.name, "care_type": group.care_type, "max_size": group.max_size,
                "location_id": str(location.id), "location_name": location.name,
                "opening_hours": location.opening_hours, "organisation_id": str(location.organisation_id),
            }
            for group, location in queries.groups_with_locations(self.db, _uuids(group_ids))
        ]

    @rpc
    def contacts(self, account_ids: list[str]) -> list[dict]:
        """Return name, e-mail, language and kind of accounts, for notifications."""
        return [
            {
                "id": str(account.id), "display_name": account.display_name, "email": account.email,
                "language": account.language, "kind": account.kind, "active": account.active,
                "account_number": account.account_number,
            }
            for account in queries.accounts_by_ids(self.db, _uuids(account_ids))
        ]

    @rpc
    def guardians_for_audience(self, organisation_id: str, location_ids: list[str] | None = None,
                               group_ids: list[str] | None = None) -> dict:
        """Return {guardian id: [child ids]} for children placed today in the audience.

        No location and no group means the whole organisation.
        """
        group_set = set(_uuids(group_ids))
        location_set = set(_uuids(location_ids))
        if not group_set and not location_set:
            location_set = set(queries.all_location_ids(self.db, _uuid(organisation_id)))
        if location_set:
            group_set.update(queries.groups_of_locations(self.db, location_set))
        result: dict[str, list[str]] = {}
        for guardian_id, child_id in queries.active_guardians_for_groups(self.db, group_set, local_today()):
            result.setdefault(str(guardian_id), []).append(str(child_id))
        return result

    @rpc
    def audit_entries(self, account_id: str, limit: int = 50) -> list[dict]:
        rows = self.db.scalars(
            select(AuditEntry)
            .where(AuditEntry.account_id == _uuid(account_id))
            .order_by(AuditEntry.id.desc())
            .limit(max(1, min(int(limit), 500)))
        )
        return [
            {"action": row.action, "occurred_at": row.occurred_at.isoformat(), "client_address": row.client_address,
             "request_id": row.request_id}
            for row in rows
        ]


def _days(count: int) -> timedelta:
    return timedelta(days=count)


def _child_dict(child: Child, group, location, today: date) -> dict:
    ended = child.care_ended_on is not None and child.care_ended_on < today
    return {
        "id": str(child.id),
        "first_name": child.first_name,
        "last_name": child.last_name,
        "birth_date": child.birth_date.isoformat(),
        "photo_consent": bool(child.photo_consent) and not ended,
        "care_active": not ended,
        "group_id": str(group.id) if group else None,
        "group_name": group.name if group else None,
        "location_id": str(location.id) if location else None,
        "location_name": location.name if location else None,
    }
