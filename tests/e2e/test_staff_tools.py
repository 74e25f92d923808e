"""samen-staff against the whole platform: the effect read back through the gateway."""

import os
import subprocess
import sys
import time

import pytest

from tests.e2e.platform import ROOT

pytestmark = pytest.mark.e2e


def staff(platform, *args, lang="en"):
    env = dict(os.environ, SAMEN_STAFF_AMQP_URI=f"amqp://guest:guest@127.0.0.1:5672/{platform.vhost}",
               SAMEN_STAFF_ACTOR="900002", PYTHONPATH=os.pathsep.join(str(ROOT / p) for p in ("common", "tools")))
    return subprocess.run([sys.executable, "-m", "samen_staff.cli", "--lang", lang, *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def children_of(platform, account_number, timeout=15.0, predicate=lambda children: True):
    token = platform.login(account_number)["access_token"]
    deadline = time.monotonic() + timeout
    while True:
        children = platform.get("/api/v1/me", token=token).json()["children"]
        if predicate(children) or time.monotonic() > deadline:
            return children
        time.sleep(0.3)


def test_enrolled_child_appears_in_me(platform):
    result = staff(platform, "enrol-child", "--child-ref", "child-e2e", "--first-name", "Otto", "--last-name", "Smit",
                   "--birth-date", "2025-02-01", "--guardian", "100001:Anouk de Vries", "--placement-ref", "placement-e2e",
                   "--group-ref", "grp-vlinders", "--care-type", "daycare", "--weekdays", "1,3", "--dayparts", "whole_day",
                   "--start", "2026-01-05")
    assert result.returncode == 0, result.stderr
    assert "Accepted: child_enrolled" in result.stdout

    children = children_of(platform, "100001", predicate=lambda cs: any(c["first_name"] == "Otto" for c in cs))
    otto = [c for c in children if c["first_name"] == "Otto"]
    assert otto and otto[0]["group_name"] == "Vlinders"


def test_consent_withdrawn_shows_false(platform):
    result = staff(platform, "record-consent", "--child-ref", "child-001", "--account-number", "100001", "--granted", "no")
    assert result.returncode == 0, result.stderr

    def withdrawn(children):
        return any(c["photo_consent"] is False for c in children if c["first_name"] == "Sam")

    children = children_of(platform, "100001", predicate=withdrawn)
    assert withdrawn(children)

    # Later tests of the session post photos of Sam, so give the consent back.
    restored = staff(platform, "record-consent", "--child-ref", "child-001", "--account-number", "100001",
                     "--granted", "yes")
    assert restored.returncode == 0, restored.stderr
    children = children_of(platform, "100001", predicate=lambda cs: not withdrawn(cs))
    assert not withdrawn(children)


def test_invalid_event_not_sent(platform):
    result = staff(platform, "end-care", "--child-ref", "child-002", "--end-date", "31-07-2027", lang="nl")
    assert result.returncode == 1
    assert "Niets verstuurd" in result.stderr
