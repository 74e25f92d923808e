"""Code shared by every Samen service: settings, database, outbox, errors, translations, logs."""

import os

# psycopg's binary build picks a C wait function that blocks eventlet's hub, so one slow query
# would stall every green thread of a service. The select-based wait cooperates with eventlet.
# This must be set before psycopg is imported anywhere in the process.
os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

# psycopg reads the variable only when it is first imported. Where it was imported earlier (a
# test runner's plugins do so), its connections still look up `psycopg.waiting.wait` on every
# call, so replacing that function has the same effect.
if os.environ["PSYCOPG_WAIT_FUNC"] == "wait_select":
    import sys

    if "psycopg.waiting" in sys.modules:
        _waiting = sys.modules["psycopg.waiting"]
        _waiting.wait = _waiting.wait_select
