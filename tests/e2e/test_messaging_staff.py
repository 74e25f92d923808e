"""samen-staff against the whole platform: coordinator news and kiosk check-ins read back by a guardian."""

import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.e2e.platform import ROOT

pytestmark = pytest.mark.e2e


def staff(platform, *args, actor="900002"):
    env = dict(os.environ, SAMEN_STAFF_AMQP_URI=f"amqp://guest:guest@127.0.0.1:5672/{platform.vhost}",
               SAMEN_STAFF_ACTOR=actor, PYTHONPATH=os.pathsep.join(str(ROOT / p) for p in ("common", "tools")))
    return subprocess.run([sys.executable, "-m", "samen_staff.cli", "--lang", "en", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def wait_for(read, predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if predicate(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


@pytest.fixture(scope="module")
def anouk(platform):
    token = platform.login("100001")["access_token"]
    children = platform.get("/api/v1/me", token).json()["children"]
    return {"token": token, "child": next(c for c in children if c["group_name"] == "Vlinders")}


def news_titles(platform, token):
    response = platform.get("/api/v1/news", token)
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()]


def test_coordinator_news_read_by_guardian(platform, anouk):
    title = f"Sinterklaasfeest {uuid.uuid4().hex[:6]}"
    result = staff(platform, "publish-news", "--title", title, "--body", "Op vrijdag vieren we Sinterklaas.",
                   "--location-ids", anouk["child"]["location_id"])
    assert result.returncode == 0, result.stderr
    assert "Accepted: news_published" in result.stdout

    titles = wait_for(lambda: news_titles(platform, anouk["token"]), lambda found: title in found)
    assert title in titles
    item = next(item for item in platform.get("/api/v1/news", anouk["token"]).json() if item["title"] == title)
    assert item["location_ids"] == [anouk["child"]["location_id"]]
    assert item["published_at"] is not None


def test_news_from_pedagogical_staff_not_applied(platform, anouk):
    title = f"Niet toegestaan {uuid.uuid4().hex[:6]}"
    result = staff(platform, "publish-news", "--title", title, "--body", "Voor iedereen.", actor="900001")
    assert result.returncode == 0, result.stderr

    # A later allowed event is applied after the rejected one, so waiting for it bounds the wait.
    marker = f"Daarna {uuid.uuid4().hex[:6]}"
    staff(platform, "publish-news", "--title", marker, "--body", "Tekst", "--location-ids", anouk["child"]["location_id"])
    titles = wait_for(lambda: news_titles(platform, anouk["token"]), lambda found: marker in found)
    assert marker in titles
    assert title not in titles


def test_kiosk_check_in_and_out_in_timeline(platform, anouk):
    child = anouk["child"]
    morning = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
    collected = f"Oma {uuid.uuid4().hex[:4]}"
    checked_in = staff(platform, "check-in", "--child-id", child["id"], "--group-id", child["group_id"],
                       "--at", morning.isoformat())
    assert checked_in.returncode == 0, checked_in.stderr
    checked_out = staff(platform, "check-out", "--child-id", child["id"], "--group-id", child["group_id"],
                        "--at", (morning + timedelta(hours=1)).isoformat(), "--collected-by", collected)
    assert checked_out.returncode == 0, checked_out.stderr

    def attendance():
        response = platform.get("/api/v1/timeline", anouk["token"], params={"child_id": child["id"], "limit": 100})
        assert response.status_code == 200, response.text
        return [item for item in response.json()["items"] if item["kind"] in ("check_in", "check_out")]

    items = wait_for(attendance, lambda found: any(collected in item["text"] for item in found), timeout=30)
    out = next(item for item in items if collected in item["text"])
    assert out["kind"] == "check_out"
    assert out["text"].startswith(f"{child['first_name']} is om ")
    assert out["text"].endswith(f"opgehaald door {collected}.")
    assert any(item["kind"] == "check_in" and item["text"].endswith("gebracht.") for item in items)
