"""A bounded pool of long-lived RPC clients for the gateway's request threads.

Each slot owns one broker connection with two channels: one publishes requests with publisher
confirms, the other consumes the slot's own reply queue. Slots are created lazily after the
server forks. A request checks a slot out, publishes, waits for the reply with its correlation
id and returns the slot. A slot whose connection failed or timed out is dropped and replaced,
so a broker restart costs 503s for a moment and never a restart of the gateway.

The messages are the ones nameko 2.14.1's `ServiceProxy` sends and receives (the `nameko-rpc`
topic exchange, `nameko.`-prefixed context headers, `{"args", "kwargs"}` requests and
`{"result", "error"}` replies), so the services see no difference. Publishing on the slot's own
connection skips what `ServiceProxy` does per call: a kombu `Connection` object, a producer
from kombu's global pool and a retry wrapper. Replies are consumed without acknowledgements: the
reply queue is exclusive and deleted with its connection, so an acknowledgement protects
nothing and costs one frame per call.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
import uuid

import structlog
from amqp.exceptions import AMQPError, ChannelError
from kombu import Connection, Consumer, Producer, Queue
from kombu.exceptions import KombuError, OperationalError
from nameko.constants import HEADER_PREFIX, NON_PERSISTENT
from nameko.exceptions import RpcTimeout, UnknownService, deserialize
from nameko.rpc import get_rpc_exchange

from samen_common.errors import SamenError, ServiceUnavailable

log = structlog.get_logger(__name__)


class _Slot:
    """One connection, one confirmed publishing channel and one reply queue, used by one thread at a time."""

    def __init__(self, config: dict, timeout: float):
        self.timeout = timeout
        self.exchange = get_rpc_exchange(config)
        self.connection = Connection(
            config["AMQP_URI"], transport_options={"confirm_publish": True}, connect_timeout=timeout,
        )
        self.connection.ensure_connection(max_retries=1)
        routing_key = str(uuid.uuid4())
        self.reply_to = routing_key
        reply_queue = Queue(
            f"rpc.reply-gateway-{routing_key}", exchange=self.exchange, routing_key=routing_key,
            exclusive=True, auto_delete=True,
        )
        self.producer = Producer(self.connection.channel(), exchange=self.exchange, serializer="json")
        self.consumer = Consumer(
            self.connection.channel(), queues=[reply_queue], callbacks=[self._on_reply], accept=["json"], no_ack=True,
        )
        self.consumer.consume()
        self._expected: str | None = None
        self._reply: dict | None = None

    def _on_reply(self, body, message) -> None:
        # A reply to an earlier call of this slot that timed out cannot arrive here: a timeout
        # drops the slot. Anything else without the expected id is ignored.
        if message.properties.get("correlation_id") == self._expected:
            self._reply = body

    def call(self, service: str, method: str, context_data: dict, args, kwargs):
        correlation_id = str(uuid.uuid4())
        self._expected = correlation_id
        self._reply = None
        try:
            self.producer.publish(
                {"args": args, "kwargs": kwargs},
                routing_key=f"{service}.{method}",
                reply_to=self.reply_to,
                correlation_id=correlation_id,
                headers={f"{HEADER_PREFIX}.{key}": value for key, value in context_data.items() if value is not None},
                delivery_mode=NON_PERSISTENT,
                mandatory=True,
                timeout=self.timeout,
                confirm_timeout=self.timeout,
            )
        except ChannelError as exc:
            if "NO_ROUTE" in str(exc):
                raise UnknownService(service) from None
            raise
        deadline = time.monotonic() + self.timeout
        while self._reply is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RpcTimeout()
            try:
                self.connection.drain_events(timeout=remaining)
            except socket.timeout:
                raise RpcTimeout() from None
        reply, self._reply, self._expected = self._reply, None, None
        if reply.get("error"):
            raise deserialize(reply["error"])
        return reply.get("result")

    def close(self) -> None:
        try:
            self.connection.release()
        except Exception as exc:  # noqa: BLE001 - a dead connection may fail to close; it is dropped anyway
            log.debug("rpc_pool.close_failed", error=str(exc))


class RpcPool:
    def __init__(self, config: dict, size: int, timeout: float, checkout_timeout: float = 2.0):
        self.config = config
        self.size = size
        self.timeout = timeout
        self.checkout_timeout = checkout_timeout
        self._idle: queue.LifoQueue[_Slot] = queue.LifoQueue()
        self._created = 0
        self._lock = threading.Lock()
        self.connections_opened = 0

    def _checkout(self) -> _Slot:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            can_create = self._created < self.size
            if can_create:
                self._created += 1
        if can_create:
            try:
                slot = _Slot(self.config, self.timeout)
            except Exception as exc:
                with self._lock:
                    self._created -= 1
                log.warning("rpc_pool.connect_failed", error=str(exc)[:200])
                raise ServiceUnavailable() from None
            self.connections_opened += 1
            return slot
        try:
            return self._idle.get(timeout=self.checkout_timeout)
        except queue.Empty:
            log.warning("rpc_pool.exhausted", size=self.size)
            raise ServiceUnavailable() from None

    def _discard(self, slot: _Slot) -> None:
        slot.close()
        with self._lock:
            self._created -= 1

    def call(self, service: str, method: str, context_data: dict, *args, **kwargs):
        """Call `service.method` and return its result, raising SamenError subclasses.

        Transport failures, timeouts and unknown services all become ServiceUnavailable.
        """
        slot = self._checkout()
        started = time.monotonic()
        try:
            result = slot.call(service, method, context_data, args, kwargs)
        except SamenError:
            self._idle.put(slot)
            raise
        except RpcTimeout:
            self._discard(slot)
            log.warning("rpc.timeout", target=f"{service}.{method}", timeout=self.timeout)
            raise ServiceUnavailable() from None
        except UnknownService:
            # The confirm of an unroutable request arrives after its return, so the channel is
            # dropped rather than reused with a confirm still unread.
            self._discard(slot)
            log.warning("rpc.unknown_service", target=f"{service}.{method}")
            raise ServiceUnavailable() from None
        except (OSError, RuntimeError, KombuError, AMQPError, OperationalError) as exc:
            self._discard(slot)
            log.warning("rpc.transport_failed", target=f"{service}.{method}", error=str(exc)[:200])
            raise ServiceUnavailable() from None
        except Exception:
            # A remote error that is no SamenError (a bug in a service) still leaves the slot usable.
            self._idle.put(slot)
            raise
        self._idle.put(slot)
        log.debug("rpc.call", target=f"{service}.{method}", ms=round((time.monotonic() - started) * 1000, 1))
        return result

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
