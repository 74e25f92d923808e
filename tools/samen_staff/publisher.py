"""Publish staff-tool events with publisher confirms and `mandatory`, reporting each outcome."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import amqp

from samen_common.contracts import STAFF_TOOLS_EXCHANGE


@dataclass
class Outcome:
    event_id: str
    event_type: str
    routing_key: str
    accepted: bool
    problem: str | None = None
    """`unroutable`, `refused` (no permission) or `nacked`; None when the broker accepted it."""
    detail: str = ""


def connection_parameters(uri: str) -> dict:
    """Turn an `amqp://user:password@host:port/vhost` URI into py-amqp connection arguments."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("amqp", "amqps") or not parsed.hostname:
        raise ValueError(uri)
    vhost = unquote(parsed.path[1:]) if parsed.path and parsed.path != "/" else "/"
    return {
        "host": f"{parsed.hostname}:{parsed.port or 5672}",
        "userid": unquote(parsed.username or "guest"),
        "password": unquote(parsed.password or "guest"),
        "virtual_host": vhost,
        "ssl": parsed.scheme == "amqps",
    }


class StaffPublisher:
    """One broker connection with publisher confirms; `publish` returns an Outcome per event.

    The message carries `user_id` set to the connection's user; RabbitMQ rejects a message whose
    `user_id` differs, so consumers can trust it to name the sending tool account.
    """

    def __init__(self, uri: str, timeout: float = 10.0):
        self.params = connection_parameters(uri)
        self.timeout = timeout
        self.connection: amqp.Connection | None = None
        self.channel = None
        self._returned: list[tuple[int, str]] = []

    def __enter__(self) -> "StaffPublisher":
        self.connection = amqp.Connection(
            confirm_publish=True, connect_timeout=self.timeout, read_timeout=self.timeout,
            write_timeout=self.timeout, **self.params,
        )
        self.connection.connect()
        self._open_channel()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except (OSError, amqp.exceptions.AMQPError):
                pass

    def _open_channel(self) -> None:
        self.channel = self.connection.channel()
        self.channel.events["basic_return"].add(self._on_return)

    def _on_return(self, exc, exchange, routing_key, message) -> None:
        self._returned.append((getattr(exc, "code", 312), str(exc)))

    def publish(self, payload: dict, routing_key: str) -> Outcome:
        outcome = Outcome(str(payload["event_id"]), payload["event_type"], routing_key, accepted=False)
        message = amqp.Message(
            json.dumps(payload), content_type="application/json", content_encoding="utf-8",
            delivery_mode=2, message_id=outcome.event_id, user_id=self.params["userid"], type=payload["event_type"],
        )
        self._returned.clear()
        try:
            self.channel.basic_publish(message, exchange=STAFF_TOOLS_EXCHANGE, routing_key=routing_key, mandatory=True)
        except amqp.exceptions.AccessRefused as exc:
            outcome.problem, outcome.detail = "refused", str(exc)
            self._open_channel()
            return outcome
        except amqp.exceptions.MessageNacked as exc:
            outcome.problem, outcome.detail = "nacked", str(exc)
            return outcome
        except amqp.exceptions.ChannelError as exc:
            outcome.problem, outcome.detail = "refused", str(exc)
            self._open_channel()
            return outcome
        if self._returned:
            outcome.problem, outcome.detail = "unroutable", self._returned[0][1]
            return outcome
        outcome.accepted = True
        return outcome
