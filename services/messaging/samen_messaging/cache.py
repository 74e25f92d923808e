"""Per-process caches of guardians' scopes and children's photo consent for the timeline.

A timeline page needs the guardian's scope (children, groups, locations and their consent) and
the consent of other families' children on group photos, both owned by accounts. Asking
accounts for them on every page cost two RPC round trips per page, so the timeline keeps them
for `SAMEN_TIMELINE_CACHE_SECONDS` (default 5 s; 0 turns the caches off).

Consent is still checked when a page is read, against a value at most that old. The handlers
of accounts' events in `timeline.py` evict the entries of the child and guardian they name, in
the process that receives the event.

NOTE: with several messaging processes, only the process that handles an accounts event evicts
its entries. The other processes serve theirs until they expire, so there a withdrawn consent
or a removed guardian takes effect up to the TTL later.
"""

from __future__ import annotations

import time
from typing import Any

# Entries per cache. A full cache drops its expired entries, then the oldest ones.
MAX_ENTRIES = 20_000


class TtlCache:
    """A map whose entries expire `ttl` seconds after they were stored.

    Methods never yield to eventlet's hub, so green threads of one process need no lock.
    """

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: dict[str, tuple[float, Any]] = {}
        self._max_entries = max_entries

    def get(self, key: str) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at <= time.monotonic():
            self._entries.pop(key, None)
            return None
        return value

    def put(self, key: str, value: Any, ttl: float) -> None:
        if ttl <= 0:
            return
        if len(self._entries) >= self._max_entries:
            self._shrink()
        self._entries[key] = (time.monotonic() + ttl, value)

    def evict(self, key: str) -> None:
        self._entries.pop(key, None)

    def evict_where(self, predicate) -> int:
        """Remove every entry whose value matches `predicate`; return how many were removed."""
        keys = [key for key, (_expires_at, value) in self._entries.items() if predicate(value)]
        for key in keys:
            self._entries.pop(key, None)
        return len(keys)

    def clear(self) -> None:
        self._entries.clear()

    def _shrink(self) -> None:
        now = time.monotonic()
        for key in [key for key, (expires_at, _value) in self._entries.items() if expires_at <= now]:
            del self._entries[key]
        # dicts keep insertion order, so the first keys are the oldest entries.
        for key in list(self._entries)[: max(0, len(self._entries) - self._max_entries // 2)]:
            del self._entries[key]


# Guardian account id -> the scope from accounts.access_scope().
guardian_scopes = TtlCache()
# Child id -> photo consent now (bool), from accounts.children_consent().
child_consent = TtlCache()


def evict_child(child_id: str) -> None:
    """Drop the cached consent of a child and every cached scope that lists the child."""
    child_consent.evict(child_id)
    guardian_scopes.evict_where(lambda scope: any(c.get("id") == child_id for c in scope.get("children", [])))
