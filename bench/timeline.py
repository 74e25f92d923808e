"""Measure `GET /api/v1/timeline` through the gateway against a bare Flask endpoint in one run.

The organisation is the benchmark data set of samen_devtools.bench (10,000 children, 100
locations), imported into samen_bench_timeline_accounts (samen_bench_timeline_smoke_* with
`--smoke`). A year of timeline rows is generated with a fixed seed and written by COPY into
samen_bench_timeline_messaging. Each child gets a photo and a notebook entry on its three contract
days a week and a message every fourth contract day. The organisation gets weekly news and each
location monthly news. Both endpoints run under gunicorn with deploy/gunicorn.conf.py and are
loaded by the same generator (wrk when installed, else Python threads) with the same settings.
Media is replaced by a small nameko service that returns photo URLs, because the real one needs
object storage and photo rows.

    .venv/bin/python bench/timeline.py --json            # full data set, 5 rounds of 5 s per endpoint
    .venv/bin/python bench/timeline.py --smoke --json    # 40 children, 30 days, short rounds
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import datetime, time as clock, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for part in ("common", "devtools", "services/accounts", "services/messaging", "gateway"):
    sys.path.insert(0, str(ROOT / part))

from nameko.rpc import rpc  # noqa: E402

SEED = 20261204
DATABASE_PREFIX = "samen_bench_timeline_"
PAGE_SIZE = 20


class BenchMediaService:
    """Stand-in for media: every photo is visible and gets fixed URLs."""

    name = "media"

    @rpc
    def visible_photos(self, photo_ids):
        return [{"id": p, "thumb_url": f"http://127.0.0.1:9/t/{p}", "screen_url": f"http://127.0.0.1:9/s/{p}"}
                for p in photo_ids]


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark the guardian timeline through the gateway.")
    parser.add_argument("--smoke", action="store_true", help="40 children, 30 days and 1-second rounds")
    parser.add_argument("--days", type=int, default=None, help="days of history to generate (default 365)")
    parser.add_argument("--seconds", type=float, default=None, help="length of one load round in seconds (default 5)")
    parser.add_argument("--json", action="store_true", help="print only the JSON result on stdout")
    return parser.parse_args(argv)


def generate_rows(children: list[tuple], locations: list[str], organisation_id: str, days: int, today):
    """Yield timeline_items rows (kind, ref_id, child_id, group_id, organisation_id, location_ids,
    group_ids, tagged_child_ids, occurred_at, summary) in a fixed order for a fixed seed."""
    rng = random.Random(SEED)
    for child_id, group_id, weekdays in children:
        for offset in range(days):
            day = today - timedelta(days=offset)
            if day.isoweekday() not in weekdays:
                continue
            base = datetime.combine(day, clock(8, 0), tzinfo=timezone.utc)
            photo_at = base + timedelta(minutes=rng.randrange(0, 480))
            note_at = base + timedelta(minutes=rng.randrange(0, 480))
            yield ("photo", uuid.UUID(int=rng.getrandbits(128)), child_id, group_id, None, "{}", "{}",
                   "{%s}" % child_id, photo_at, '{"photo_id": null}')
            yield ("notebook", uuid.UUID(int=rng.getrandbits(128)), child_id, group_id, None, "{}", "{}", "{}",
                   note_at, '{"excerpt": "Buiten gespeeld en goed gegeten", "items": ["eating", "sleeping"]}')
            if offset % 4 == 0:
                yield ("message", uuid.UUID(int=rng.getrandbits(128)), child_id, group_id, None, "{}", "{}", "{}",
                       base + timedelta(minutes=rng.randrange(0, 600)), '{"excerpt": "Tot morgen!"}')
    for offset in range(0, days, 7):
        day = today - timedelta(days=offset)
        yield ("news", uuid.UUID(int=rng.getrandbits(128)), None, None, organisation_id, "{}", "{}", "{}",
               datetime.combine(day, clock(9, 0), tzinfo=timezone.utc), '{"title": "Nieuws van de week"}')
    for location_id in locations:
        for offset in range(0, days, 30):
            day = today - timedelta(days=offset)
            yield ("news", uuid.UUID(int=rng.getrandbits(128)), None, None, organisation_id,
                   "{%s}" % location_id, "{}", "{}", datetime.combine(day, clock(10, 0), tzinfo=timezone.utc),
                   '{"title": "Nieuws van de locatie"}')


def load_timeline(env: dict, days: int) -> dict:
    """Migrate the benchmark's messaging database and COPY a year of timeline rows into it."""
    import subprocess

    import psycopg

    from samen_devtools.bench import harness

    started = time.monotonic()
    for extra in (["--drop"], []):
        subprocess.run([harness.PYTHON, "-m", "samen_devtools.migrate", "--prefix", harness.DATABASE_PREFIX, *extra,
                        "messaging"], cwd=ROOT, env=env, check=True, capture_output=True)
    prefix = harness.DATABASE_PREFIX
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={prefix}accounts") as accounts:
        organisation_id = str(accounts.execute("SELECT id FROM organisations").fetchone()[0])
        locations = [str(row[0]) for row in accounts.execute("SELECT id FROM locations ORDER BY external_ref")]
        children = [
            (str(child_id), str(group_id), set(weekdays))
            for child_id, group_id, weekdays in accounts.execute(
                "SELECT p.child_id, p.group_id, p.weekdays FROM placements p ORDER BY p.external_ref"
            )
        ]
    today = datetime.now(timezone.utc).date()
    count = 0
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={prefix}messaging") as messaging:
        messaging.execute("DROP INDEX ix_timeline_items_child_order")
        messaging.execute("DROP INDEX uq_timeline_items_kind_ref_child")
        columns = ("kind, ref_id, child_id, group_id, organisation_id, location_ids, group_ids, tagged_child_ids, "
                   "occurred_at, summary")
        with messaging.cursor().copy(f"COPY timeline_items ({columns}) FROM STDIN") as copy:
            for row in generate_rows(children, locations, organisation_id, days, today):
                copy.write_row(row)
                count += 1
        messaging.execute(
            "CREATE INDEX ix_timeline_items_child_order ON timeline_items (child_id, occurred_at DESC, ref_id DESC)"
        )
        messaging.execute(
            "CREATE UNIQUE INDEX uq_timeline_items_kind_ref_child ON timeline_items (kind, ref_id, child_id) "
            "NULLS NOT DISTINCT"
        )
        messaging.execute("ANALYZE timeline_items")
    return {"rows": count, "days": days, "seconds": round(time.monotonic() - started, 1)}


def walk_cursor(url: str, headers: dict, pages: int) -> str | None:
    """Follow `pages` pages of the timeline and return the cursor there."""
    import requests

    cursor = None
    for _ in range(pages):
        params = {"limit": PAGE_SIZE, **({"cursor": cursor} if cursor else {})}
        response = requests.get(url, headers=headers, params=params, timeout=30)
        response.raise_for_status()
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    return cursor


def main(argv=None) -> int:
    arguments = parse_arguments(argv)
    from samen_devtools.bench import dataset, harness
    from samen_devtools.keys import ensure_keys

    # Databases and vhost of its own (one set for smoke runs, one for full runs), so that a concurrent
    # run of the other benchmarks or of this script in the other mode cannot replace the data under
    # this one. The harness reads the prefix on each call.
    harness.DATABASE_PREFIX = DATABASE_PREFIX + ("smoke_" if arguments.smoke else "")

    days = arguments.days or (30 if arguments.smoke else 365)
    rounds = harness.Rounds(warmup=0 if arguments.smoke else 1, repeats=2 if arguments.smoke else 5,
                            seconds=arguments.seconds or (1.0 if arguments.smoke else 5.0))
    size = dataset.SMOKE if arguments.smoke else dataset.FULL
    work_dir = Path(tempfile.mkdtemp(prefix="samen-bench-timeline-"))
    data_dir = work_dir / "data"
    ensure_keys(data_dir / "keys")
    os.environ["SAMEN_DATA_DIR"] = str(data_dir)
    os.environ["SAMEN_ENV"] = "test"
    os.environ.pop("SAMEN_JWT_PUBLIC_KEY_FILE", None)
    os.environ.pop("SAMEN_JWT_PRIVATE_KEY_FILE", None)

    result: dict = {"mode": "smoke" if arguments.smoke else "full", "machine": harness.machine(),
                    "rounds": rounds.__dict__, "page_size": PAGE_SIZE, "logs": str(work_dir)}
    with harness.Vhost() as vhost:
        processes = harness.Processes(work_dir)
        env = harness.base_environment(vhost, data_dir)
        env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(ROOT / "services/messaging"), str(ROOT / "bench")])
        env.pop("SAMEN_JWT_PUBLIC_KEY_FILE", None)
        try:
            result["accounts"] = dataset.load_accounts(size, env)
            result["timeline"] = load_timeline(env, days)
            token = dataset.guardian_token("2000000")
            result["endpoints"] = measure(processes, env, rounds, token)
        finally:
            processes.stop_all()
    print(json.dumps(result, indent=2))
    return 0


def measure(processes, env: dict, rounds, token: str) -> dict:
    from samen_devtools.bench import gateway_bench, harness

    endpoints: dict = {}
    bare_port = harness.free_port()
    bare = processes.start("bare-gunicorn", gateway_bench.gunicorn_command(
        "samen_devtools.bench.bare_app:create_app()", bare_port), env)
    harness.wait_for_port(bare_port)
    endpoints["bare_flask"] = gateway_bench.measure_endpoint(f"http://127.0.0.1:{bare_port}/bare", {}, rounds)
    processes.stop(bare)

    nameko = [str(harness.BIN / "nameko"), "run", "--config", "deploy/nameko.yaml"]
    processes.start("accounts", nameko + ["samen_accounts.service"], env)
    processes.start("messaging", nameko + ["samen_messaging.service"], env)
    processes.start("media-stand-in", nameko + ["timeline:BenchMediaService"], env)
    gateway_port = harness.free_port()
    processes.start("gateway-gunicorn", gateway_bench.gunicorn_command("samen_gateway.app:create_app()", gateway_port),
                    env)
    harness.wait_for_port(gateway_port)
    url = f"http://127.0.0.1:{gateway_port}/api/v1/timeline"
    headers = {"Authorization": f"Bearer {token}"}
    gateway_bench._wait_for_ok(f"{url}?limit={PAGE_SIZE}", headers)

    endpoints["timeline_first_page"] = gateway_bench.measure_endpoint(f"{url}?limit={PAGE_SIZE}", headers, rounds)
    cursor = walk_cursor(url, headers, pages=25)
    if cursor:
        endpoints["timeline_page_26"] = gateway_bench.measure_endpoint(
            f"{url}?limit={PAGE_SIZE}&cursor={cursor}", headers, rounds)
    for name, sample in endpoints.items():
        if name != "bare_flask":
            sample["share_of_bare_rate"] = round(sample["median"] / endpoints["bare_flask"]["median"], 3)
    return endpoints


if __name__ == "__main__":
    sys.exit(main())
