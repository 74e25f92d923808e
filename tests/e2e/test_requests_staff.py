"""The coordinator's tool against the whole platform: requests declares its queue, so the broker takes the event."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import date, timedelta

import pytest

from tests.e2e.platform import ROOT

pytestmark = pytest.mark.e2e


def test_closing_day_accepted_by_broker(platform):
    env = dict(os.environ, SAMEN_STAFF_AMQP_URI=f"amqp://guest:guest@127.0.0.1:5672/{platform.vhost}",
               SAMEN_STAFF_ACTOR="900002", PYTHONPATH=os.pathsep.join(str(ROOT / p) for p in ("common", "tools")))
    day = date.today() + timedelta(days=60)
    result = subprocess.run(
        [sys.executable, "-m", "samen_staff.cli", "--lang", "en", "add-closing-day", "--location-id", str(uuid.uuid4()),
         "--day", day.isoformat(), "--name-nl", "Studiedag", "--name-en", "Training day"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )

    # NOTE: this checks delivery only. Applying the event needs the accounts RPC
    # scope_of_account_number; tests/integration/requests covers the effect with it.
    assert result.returncode == 0, result.stderr
    assert "Accepted: closing_day_added" in result.stdout
