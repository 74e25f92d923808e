"""A request/reply loop on plain kombu: the baseline that nameko's RPC is compared with.

The topology matches nameko 2.14.1: requests go to a durable topic exchange and a durable
queue, replies go through the same exchange to an exclusive, auto-deleted reply queue per
caller. `Guarantees` picks publisher confirms and persistence for each direction, and whether
the caller acknowledges replies, so the baseline can copy whatever the RPC path under test does.

    python -m samen_devtools.bench.raw_rpc --amqp-uri URI --prefetch 10 [--reply-confirms] [--reply-persistent]

runs the server until SIGTERM. `RawCaller` is the client side.
"""

from __future__ import annotations

import argparse
import signal
import socket
import uuid
from dataclasses import dataclass

from kombu import Connection, Exchange, Producer, Queue

EXCHANGE = Exchange("bench-raw-rpc", type="topic", durable=True)
REQUEST_QUEUE = Queue("bench-raw-echo", exchange=EXCHANGE, routing_key="bench-raw.echo", durable=True)
TRANSIENT, PERSISTENT = 1, 2


@dataclass(frozen=True)
class Guarantees:
    """Publisher confirms and persistence of requests and of replies, and reply acknowledgements."""

    request_confirms: bool
    request_persistent: bool
    reply_confirms: bool
    reply_persistent: bool
    reply_acks: bool = True

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def serve(amqp_uri: str, prefetch: int, reply_confirms: bool, reply_persistent: bool) -> None:
    """Answer every request on REQUEST_QUEUE with its own body until SIGTERM."""
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    with Connection(amqp_uri) as consume_conn, Connection(
        amqp_uri, transport_options={"confirm_publish": reply_confirms}
    ) as publish_conn:
        producer = Producer(publish_conn.channel(), exchange=EXCHANGE, serializer="json")

        def on_request(body, message):
            producer.publish(
                {"result": body["args"][0], "error": None},
                routing_key=message.properties["reply_to"],
                correlation_id=message.properties["correlation_id"],
                delivery_mode=PERSISTENT if reply_persistent else TRANSIENT,
            )
            message.ack()

        with consume_conn.Consumer(REQUEST_QUEUE, callbacks=[on_request], prefetch_count=prefetch, accept=["json"]):
            while running:
                try:
                    consume_conn.drain_events(timeout=0.5)
                except socket.timeout:
                    continue


class RawCaller:
    """One caller with its own connection and reply queue, like one slot of the gateway's pool."""

    def __init__(self, amqp_uri: str, guarantees: Guarantees):
        self.guarantees = guarantees
        self.connection = Connection(amqp_uri, transport_options={"confirm_publish": guarantees.request_confirms})
        self.reply_queue = Queue(
            f"bench-raw-reply-{uuid.uuid4().hex}", exchange=EXCHANGE, exclusive=True, auto_delete=True
        )
        self.reply_queue.routing_key = self.reply_queue.name
        self.producer = Producer(self.connection.channel(), exchange=EXCHANGE, serializer="json")
        self.consumer = self.connection.Consumer(
            self.reply_queue, callbacks=[self._on_reply], accept=["json"], no_ack=not guarantees.reply_acks
        )
        self.consumer.consume()
        self._expected: str | None = None
        self._result = None

    def _on_reply(self, body, message):
        if message.properties.get("correlation_id") == self._expected:
            self._result = body["result"]
            self._expected = None
        if self.guarantees.reply_acks:
            message.ack()

    def call(self, value):
        correlation_id = uuid.uuid4().hex
        self._expected = correlation_id
        self.producer.publish(
            {"args": [value], "kwargs": {}},
            routing_key="bench-raw.echo",
            reply_to=self.reply_queue.name,
            correlation_id=correlation_id,
            mandatory=True,
            delivery_mode=PERSISTENT if self.guarantees.request_persistent else TRANSIENT,
        )
        while self._expected is not None:
            self.connection.drain_events(timeout=10)
        return self._result

    def close(self) -> None:
        self.connection.release()


def declare(amqp_uri: str) -> None:
    with Connection(amqp_uri) as connection:
        REQUEST_QUEUE(connection.channel()).declare()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the raw kombu echo server of the RPC benchmark.")
    parser.add_argument("--amqp-uri", required=True, help="broker URL including the vhost")
    parser.add_argument("--prefetch", type=int, default=10, help="unacknowledged requests held at once")
    parser.add_argument("--reply-confirms", action="store_true", help="publish replies with publisher confirms")
    parser.add_argument("--reply-persistent", action="store_true", help="publish replies as persistent messages")
    arguments = parser.parse_args()
    declare(arguments.amqp_uri)
    serve(arguments.amqp_uri, arguments.prefetch, arguments.reply_confirms, arguments.reply_persistent)


if __name__ == "__main__":
    main()
