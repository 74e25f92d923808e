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
"""

from __future__ import annotations

import sys
import time

import eventlet
import structlog
from nameko.amqp.publish import Publisher
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    LOGIN_METHOD_CONFIG_KEY,
    NON_PERSISTENT,
    SERIALIZER_CONFIG_KEY,
)
from nameko.rpc import Responder, Rpc, RpcConsumer, RpcProxy, get_rpc_exchange
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from samen_common import context
from samen_common.errors import RequestExpired, SamenError, ServiceUnavailable

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT = 5.0


def _is_database_outage(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeout | OperationalError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    # 57014 is query_canceled, which is what statement_timeout raises.
    return sqlstate == "57014"


class _ReplyPublisher(Publisher):
    use_confirms = False
    delivery_mode = NON_PERSISTENT


class _ReplyResponder(Responder):
    publisher_cls = _ReplyPublisher


class SamenRpcConsumer(RpcConsumer):
    """nameko's RPC consumer that publishes replies as transient messages without confirms."""

    def handle_result(self, message, result, exc_info):
        config = self.container.config
        responder = _ReplyResponder(
            config[AMQP_URI_CONFIG_KEY],
            get_rpc_exchange(config),
            config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER),
            message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class SamenRpc(Rpc):
    """nameko's RPC entrypoint that honours caller deadlines and reports outages as 503."""

    rpc_consumer = SamenRpcConsumer()

    def __init__(self, expected_exceptions=SamenError, **kwargs):
        super().__init__(expected_exceptions=expected_exceptions, **kwargs)

    def handle_message(self, body, message):
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
        super().handle_message(body, message)

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
