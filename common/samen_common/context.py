"""Per-call context carried in nameko's context data: request id, language and deadline."""

from __future__ import annotations

import time
import uuid

import structlog
from nameko.extensions import DependencyProvider

from samen_common import i18n

REQUEST_ID = "request_id"
LANGUAGE = "language"
DEADLINE = "deadline"
ACCESS_TOKEN = "access_token"
CLIENT_ADDRESS = "client_address"


class CallContext:
    """The request id, language, deadline and client address of the call that started a worker."""

    def __init__(self, data: dict):
        self._data = data

    @property
    def request_id(self) -> str:
        return self._data.get(REQUEST_ID) or ""

    @property
    def language(self) -> str:
        return i18n.normalise_language(self._data.get(LANGUAGE))

    @property
    def deadline(self) -> float | None:
        value = self._data.get(DEADLINE)
        return float(value) if value is not None else None

    @property
    def client_address(self) -> str | None:
        return self._data.get(CLIENT_ADDRESS)

    def seconds_left(self, default: float) -> float:
        """Return the time until the caller's deadline, capped at `default`."""
        if self.deadline is None:
            return default
        return max(0.0, min(default, self.deadline - time.time()))


class RequestContext(DependencyProvider):
    """Bind the request id to every log line of a worker and expose the call context."""

    def worker_setup(self, worker_ctx):
        data = worker_ctx.data
        if not data.get(REQUEST_ID):
            data[REQUEST_ID] = uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=data[REQUEST_ID],
            entrypoint=f"{worker_ctx.service_name}.{worker_ctx.entrypoint.method_name}",
        )

    def worker_teardown(self, worker_ctx):
        structlog.contextvars.clear_contextvars()

    def get_dependency(self, worker_ctx):
        return CallContext(worker_ctx.data)
