"""nameko services that the benchmarks run with `nameko run`.

`StockEchoService` uses nameko's own `rpc` entrypoint with its defaults (publisher confirms and
persistent messages both ways). `EchoService` uses Samen's `rpc` entrypoint, the path that the
platform's services run.
"""

from __future__ import annotations

from nameko.rpc import rpc as stock_rpc
from sqlalchemy import text

from samen_common.db import Database, read_without_transaction
from samen_common.rpc import rpc


class StockEchoService:
    name = "bench_stock"

    @stock_rpc
    def echo(self, value):
        return value


class EchoService:
    name = "bench"

    db = Database("bench")

    @rpc
    def echo(self, value):
        return value

    @rpc
    def wait_in_database(self, milliseconds: int) -> bool:
        """Hold a pooled connection while PostgreSQL sleeps for `milliseconds`.

        A read, so it runs without a transaction like the platform's read paths (`me`, `scope_of`).
        """
        read_without_transaction(self.db)
        self.db.execute(text("SELECT pg_sleep(:seconds)"), {"seconds": milliseconds / 1000})
        return True


class ScaledEchoService(EchoService):
    """The Samen echo service under another name, for the scale-out benchmark's second deployment."""

    name = "bench_scaled"
