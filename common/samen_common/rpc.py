"""RPC entrypoint and proxy with deadlines and timeouts.

The gateway puts an absolute `deadline` (Unix seconds) into the context data of every call.
`rpc` drops a request whose deadline has passed before a worker runs it, so a call that its
caller already gave up on never runs later. `TimedRpcProxy` bounds every onward call by the
smaller of its own timeout and the time left until that deadline.

Requests and replies are published as transient messages: a caller that loses one times out and
gets a 503, so writing them to disk buys nothing. Requests keep publisher confirms, because
nameko detects a call to a service without a queue (UnknownService) from the returned message,
which only arrives with confirms. Replies go without confirms. Events are published elsewhere
(the outbox) and stay persistent with confirms.

Each service process publishes its replies through one kombu producer on one connection that it
keeps open (`ReplyProducer`), which saves the work of nameko's Responder on every reply: building
a kombu Connection object, taking a producer from kombu's pool and serializing the reply twice.
"""

from __future__ import annotations

import inspect
import sys
import time
from functools import partial

import amqp
import amqp.exceptions
import eventlet
import eventlet.semaphore
import kombu.serialization
import structlog
from kombu import Connection
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_TRANSPORT_OPTIONS,
    HEADER_PREFIX,
    LOGIN_METHOD_CONFIG_KEY,
    NON_PERSISTENT,
)
from nameko.exceptions import (
    ContainerBeingKilled,
    IncorrectSignature,
    MalformedRequest,
    UnserializableValueError,
    serialize,
)
from nameko.rpc import Rpc, RpcConsumer, RpcProxy, get_rpc_exchange
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from samen_common import context
from samen_common.errors import RequestExpired, SamenError, ServiceUnavailable

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT = 5.0
_PREFIX = f"{HEADER_PREFIX}."
_PREFIX_LENGTH = len(_PREFIX)


def _is_database_outage(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeout | OperationalError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    # 57014 is query_canceled, which is what statement_timeout raises.
    return sqlstate == "57014"


class ReplyProducer:
    """One AMQP channel on a connection of its own, shared by the green threads of one service for replies.

    Messages go out transient, without publisher confirms and with `mandatory` off, like the
    replies of nameko 2.14.1's Responder with Samen's settings. They are published with
    py-amqp's `basic_publish` on the channel directly: in a py-spy profile of the echo benchmark,
    kombu's `Producer.publish` and its retry wrapper took a third of the reply's publish time.
    A lock keeps one green thread at a time on the channel, because a send that yields to the
    hub halfway would otherwise let another green thread's frames in between.

    The service reads nothing from this connection between publishes, so a close sent by the broker
    or a socket closed by a broker restart shows up only at the next publish. py-amqp 5.4 reads
    pending frames without waiting before each publish (`Channel._basic_publish`), which raises
    the connection error there, before anything is sent. The connection is then dropped and
    the reply is published once more on a new one. When that fails as well, the error is
    raised and the next reply opens a new connection.
    """

    def __init__(self, amqp_uri: str, ssl=None, login_method=None):
        self._amqp_uri = amqp_uri
        self._ssl = ssl
        self._login_method = login_method
        self._lock = eventlet.semaphore.Semaphore()
        self._connection: Connection | None = None
        self._channel = None

    def publish(self, body: str | bytes, *, content_type: str, content_encoding: str, exchange,
                routing_key: str, correlation_id: str | None) -> None:
        """Publish the serialized `body` to `exchange`, on a new connection once more after a connection error."""
        message = amqp.Message(
            body, content_type=content_type, content_encoding=content_encoding, correlation_id=correlation_id,
            delivery_mode=NON_PERSISTENT,
        )
        with self._lock:
            for attempt in (1, 2):
                try:
                    channel = self._ready_channel()
                    channel.basic_publish(message, exchange=exchange.name, routing_key=routing_key)
                    return
                except Exception as exc:
                    log.warning("rpc.reply_publish_failed", routing_key=routing_key, attempt=attempt,
                                error=repr(exc)[:300])
                    recoverable = isinstance(exc, _CONNECTION_ERRORS)
                    self._discard()
                    if attempt == 2 or not recoverable:
                        raise

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                try:
                    self._connection.release()
                except Exception as exc:  # noqa: BLE001 - the connection is dropped either way
                    log.info("rpc.reply_connection_close_failed", error=repr(exc)[:300])
                self._connection = self._channel = None

    def abort(self) -> None:
        """Drop the connection at once, without the lock or the close handshake."""
        self._discard()

    def _ready_channel(self):
        if self._channel is None:
            # default_channel connects at once, retrying as DEFAULT_TRANSPORT_OPTIONS set.
            transport_options = dict(DEFAULT_TRANSPORT_OPTIONS, confirm_publish=False)
            connection = Connection(
                self._amqp_uri, transport_options=transport_options, ssl=self._ssl, login_method=self._login_method
            )
            self._connection = connection
            self._channel = connection.default_channel
        return self._channel

    def _discard(self) -> None:
        """Drop the connection without the close handshake, which could wait on a dead socket."""
        if self._connection is not None:
            try:
                self._connection.collect()
            except Exception as exc:  # noqa: BLE001 - the connection is dropped either way
                log.info("rpc.reply_connection_close_failed", error=repr(exc)[:300])
        self._connection = self._channel = None


# Exceptions of a dropped broker connection: py-amqp's ConnectionError for a close sent by the
# broker, its RecoverableConnectionError for a channel or connection already closed, and OSError.
_CONNECTION_ERRORS = (amqp.exceptions.ConnectionError, amqp.exceptions.RecoverableConnectionError, OSError)


class SamenRpcConsumer(RpcConsumer):
    """nameko's RPC consumer that publishes replies as transient messages without confirms."""

    reply_producer: ReplyProducer | None = None

    def setup(self):
        super().setup()
        config = self.container.config
        self._exchange = get_rpc_exchange(config)
        self.reply_producer = ReplyProducer(
            config[AMQP_URI_CONFIG_KEY],
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )

    def stop(self):
        super().stop()
        if self.reply_producer is not None:
            self.reply_producer.close()

    def kill(self):
        super().kill()
        if self.reply_producer is not None:
            self.reply_producer.abort()

    def handle_result(self, message, result, exc_info):
        result, exc_info = self._send_reply(message, result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def _send_reply(self, message, result, exc_info):
        """Publish `{"result", "error"}` as nameko's `Responder.send_response` does, serializing it once.

        The Responder of nameko 2.14.1 serializes the result twice: once to check that it can,
        and again to publish it. A result that cannot be serialized becomes an
        UnserializableValueError reply, as there.
        """
        error = serialize(exc_info[1]) if exc_info is not None else None
        # The reply is encoded the way the request was.
        serializer = kombu.serialization.registry.type_to_name[message.properties["content_type"]]
        try:
            content_type, content_encoding, body = kombu.serialization.dumps(
                {"result": result, "error": error}, serializer
            )
        except Exception:  # noqa: BLE001 - any serializer failure is reported to the caller
            exc_info = sys.exc_info()
            error = serialize(UnserializableValueError(result))
            result = None
            content_type, content_encoding, body = kombu.serialization.dumps({"result": None, "error": error}, serializer)
        self.reply_producer.publish(
            body,
            content_type=content_type,
            content_encoding=content_encoding,
            exchange=self._exchange,
            routing_key=message.properties["reply_to"],
            correlation_id=message.properties.get("correlation_id"),
        )
        return result, exc_info


class SamenRpc(Rpc):
    """nameko's RPC entrypoint that honours caller deadlines and reports outages as 503."""

    rpc_consumer = SamenRpcConsumer()

    def __init__(self, expected_exceptions=SamenError, **kwargs):
        super().__init__(expected_exceptions=expected_exceptions, **kwargs)

    def setup(self):
        super().setup()
        # nameko checks every call with inspect.getcallargs, which inspects the method again each
        # time: 40 µs against 8 µs for binding a signature kept here (timeit, Python 3.11).
        # follow_wrapped=False matches getcallargs, which also reads the outermost function.
        method = getattr(self.container.service_cls, self.method_name)
        self._signature = inspect.signature(method, follow_wrapped=False)

    def check_signature(self, args, kwargs):
        try:
            self._signature.bind(None, *args, **kwargs)
        except TypeError as exc:
            raise IncorrectSignature(str(exc)) from None

    def unpack_message_headers(self, message):
        return {key[_PREFIX_LENGTH:] if key.startswith(_PREFIX) else key: value
                for key, value in message.headers.items()}

    def handle_message(self, body, message):
        """nameko's `Rpc.handle_message` with a deadline check, reading the headers once."""
        headers = self.unpack_message_headers(message)
        deadline = headers.get(context.DEADLINE)
        if deadline is not None and float(deadline) < time.time():
            log.warning(
                "rpc.expired",
                method=self.method_name,
                request_id=headers.get(context.REQUEST_ID),
                late_by=round(time.time() - float(deadline), 3),
            )
            try:
                raise RequestExpired()
            except RequestExpired:
                self.rpc_consumer.handle_result(message, None, sys.exc_info())
            return
        try:
            args = body["args"]
            kwargs = body["kwargs"]
        except (KeyError, TypeError):
            raise MalformedRequest("Message missing `args` or `kwargs`") from None
        self.check_signature(args, kwargs)
        try:
            self.container.spawn_worker(
                self, args, kwargs, context_data=headers, handle_result=partial(self.handle_result, message)
            )
        except ContainerBeingKilled:
            self.rpc_consumer.requeue_message(message)

    def handle_result(self, message, worker_ctx, result, exc_info):
        if exc_info is not None and isinstance(exc_info[1], SamenError):
            # An expected outcome (404, a rule that rejects the input): one line, no traceback.
            log.info("rpc.rejected", method=self.method_name, code=exc_info[1].code, status=exc_info[1].status)
        if exc_info is not None and not isinstance(exc_info[1], SamenError):
            if _is_database_outage(exc_info[1]):
                log.warning("rpc.database_unavailable", method=self.method_name, error=str(exc_info[1])[:300])
                try:
                    raise ServiceUnavailable() from exc_info[1]
                except ServiceUnavailable:
                    exc_info = sys.exc_info()
        return super().handle_result(message, worker_ctx, result, exc_info)


rpc = SamenRpc.decorator


class _TimedMethod:
    def __init__(self, method_proxy, timeout: float, call_context: context.CallContext):
        self._method = method_proxy
        self._timeout = timeout
        self._call_context = call_context

    def __call__(self, *args, **kwargs):
        timeout = self._call_context.seconds_left(self._timeout)
        if timeout <= 0:
            raise RequestExpired()
        reply = self._method.call_async(*args, **kwargs)
        try:
            with eventlet.Timeout(timeout):
                return reply.result()
        except eventlet.Timeout:
            log.warning(
                "rpc.timeout",
                target=f"{self._method.service_name}.{self._method.method_name}",
                timeout=round(timeout, 3),
            )
            raise ServiceUnavailable() from None


class _TimedServiceProxy:
    def __init__(self, service_proxy, timeout: float, call_context: context.CallContext):
        self._proxy = service_proxy
        self._timeout = timeout
        self._call_context = call_context

    def __getattr__(self, name):
        return _TimedMethod(getattr(self._proxy, name), self._timeout, self._call_context)


class TimedRpcProxy(RpcProxy):
    """An RPC proxy whose calls raise ServiceUnavailable instead of waiting without end."""

    def __init__(self, target_service: str, timeout: float = DEFAULT_TIMEOUT, **options):
        options.setdefault("delivery_mode", NON_PERSISTENT)
        super().__init__(target_service, **options)
        self.timeout = timeout

    def get_dependency(self, worker_ctx):
        proxy = super().get_dependency(worker_ctx)
        return _TimedServiceProxy(proxy, self.timeout, context.CallContext(worker_ctx.data))
