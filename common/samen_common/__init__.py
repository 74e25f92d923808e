"""Code shared by every Samen service: settings, database, outbox, errors, translations, logs."""

import os

# psycopg's binary build picks a C wait function that blocks eventlet's hub, so one slow query
# would stall every green thread of a service. The select-based wait cooperates with eventlet.
# This must be set before psycopg is imported anywhere in the process.
os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
