"""The per-process caches of guardians' scopes and children's consent."""

import time

from samen_messaging.cache import TtlCache, child_consent, evict_child, guardian_scopes


def test_entry_expires_after_ttl():
    cache = TtlCache()
    cache.put("a", 1, ttl=0.05)
    assert cache.get("a") == 1
    time.sleep(0.06)
    assert cache.get("a") is None


def test_zero_ttl_stores_nothing():
    cache = TtlCache()
    cache.put("a", 1, ttl=0)
    assert cache.get("a") is None


def test_full_cache_keeps_newest():
    cache = TtlCache(max_entries=4)
    for number in range(6):
        cache.put(str(number), number, ttl=60)
    assert cache.get("5") == 5
    assert cache.get("0") is None


def test_evict_child_drops_consent_and_scopes():
    guardian_scopes.put("guardian-1", {"children": [{"id": "child-1"}]}, ttl=60)
    guardian_scopes.put("guardian-2", {"children": [{"id": "child-2"}]}, ttl=60)
    child_consent.put("child-1", True, ttl=60)

    evict_child("child-1")

    assert guardian_scopes.get("guardian-1") is None
    assert guardian_scopes.get("guardian-2") is not None
    assert child_consent.get("child-1") is None
