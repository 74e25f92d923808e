"""Replies of Samen's `rpc` go through one kept connection, which is replaced when it drops.

The benchmarks measure this path, so its recovery is checked here: the broker closes the reply
connection (through the management API, on the test's own vhost), and the next call still gets
its reply.
"""

from __future__ import annotations

import select
import time

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from samen_common.rpc import SamenRpcConsumer, rpc


class ReplyEchoService:
    name = "reply_echo"

    @rpc
    def echo(self, value):
        return value


def _reply_producer(container):
    consumers = [extension for extension in container.subextensions if isinstance(extension, SamenRpcConsumer)]
    assert len(consumers) == 1
    return consumers[0].reply_producer


def _connection_name(producer) -> str:
    host, port = producer._connection.connection.sock.getsockname()[:2]
    peer_host, peer_port = producer._connection.connection.sock.getpeername()[:2]
    return f"{host}:{port} -> {peer_host}:{peer_port}"


def _wait_until_listed(rabbit_manager, name: str, listed: bool, timeout: float = 15.0) -> None:
    """Wait until the management API lists connection `name` (or no longer does), which lags the broker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (name in {connection["name"] for connection in rabbit_manager.get_connections()}) == listed:
            return
        time.sleep(0.2)
    state = "does not list" if listed else "still lists"
    pytest.fail(f"the management API {state} connection {name!r} after {timeout} s")


def test_replies_share_one_connection(container_factory, service_config):
    container = container_factory(ReplyEchoService, service_config)
    container.start()
    producer = _reply_producer(container)

    with ClusterRpcProxy(service_config, timeout=5) as proxy:
        assert proxy.reply_echo.echo(1) == 1
        first = _connection_name(producer)
        assert [proxy.reply_echo.echo(value) for value in range(5)] == list(range(5))
        assert _connection_name(producer) == first


def test_reply_after_broker_closes_connection(container_factory, service_config, rabbit_manager):
    container = container_factory(ReplyEchoService, service_config)
    container.start()
    producer = _reply_producer(container)

    with ClusterRpcProxy(service_config, timeout=5) as proxy:
        assert proxy.reply_echo.echo("before") == "before"
        dropped = _connection_name(producer)
        _wait_until_listed(rabbit_manager, dropped, listed=True)
        sock = producer._connection.connection.sock
        rabbit_manager.delete_connection(dropped)
        # The broker sends connection.close and keeps listing the connection until the client
        # replies with close-ok, which the idle reply connection does not do, so wait for the frame.
        readable, _, _ = select.select([sock], [], [], 10)
        assert readable, "the broker did not close the reply connection within 10 s"

        assert proxy.reply_echo.echo("after") == "after"
        assert _connection_name(producer) != dropped


class AwkwardService:
    name = "reply_awkward"

    @rpc
    def unserializable(self):
        return object()

    @rpc
    def nested(self):
        return {"when": "2026-12-04", "items": [1, 2.5, None, "tekst met ë"]}


def test_unserializable_result_becomes_error(container_factory, service_config):
    container = container_factory(AwkwardService, service_config)
    container.start()

    with ClusterRpcProxy(service_config, timeout=5) as proxy:
        with pytest.raises(RemoteError) as failure:
            proxy.reply_awkward.unserializable()
        assert failure.value.exc_type == "UnserializableValueError"
        # The service keeps serving after such a reply.
        assert proxy.reply_awkward.nested() == {"when": "2026-12-04", "items": [1, 2.5, None, "tekst met ë"]}
