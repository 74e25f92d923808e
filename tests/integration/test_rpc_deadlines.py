"""Deadlines and timeouts of RPC calls: nothing waits without end, nothing runs late."""

import time

import eventlet
import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from samen_common.context import RequestContext
from samen_common.errors import RequestExpired, ServiceUnavailable
from samen_common.rpc import TimedRpcProxy, rpc
from samen_gateway.rpc_pool import RpcPool

runs: list[float] = []


class SlowService:
    name = "slow"
    context = RequestContext()

    @rpc
    def nap(self, seconds):
        runs.append(seconds)
        eventlet.sleep(seconds)
        return seconds


class CallerService:
    name = "caller"
    slow = TimedRpcProxy("slow", timeout=0.5)

    @rpc
    def call_slow(self, seconds):
        return self.slow.nap(seconds)


@pytest.fixture
def slow(container_factory, service_config):
    runs.clear()
    container = container_factory(SlowService, service_config)
    container.start()
    return container


def test_expired_request_never_runs(slow, service_config):
    context = {"request_id": "expired-request-1", "deadline": time.time() - 1}
    with ClusterRpcProxy(service_config, context_data=context, timeout=5) as proxy:
        with pytest.raises(RequestExpired):
            proxy.slow.nap(0)
    assert runs == []


def test_request_within_deadline_runs(slow, service_config):
    context = {"request_id": "fresh-request-1", "deadline": time.time() + 5}
    with ClusterRpcProxy(service_config, context_data=context, timeout=5) as proxy:
        assert proxy.slow.nap(0) == 0
    assert runs == [0]


def test_timed_proxy_raises_unavailable(slow, container_factory, service_config):
    caller = container_factory(CallerService, service_config)
    caller.start()
    started = time.monotonic()
    with ClusterRpcProxy(service_config, timeout=10) as proxy:
        with pytest.raises(ServiceUnavailable):
            proxy.caller.call_slow(3)
    assert time.monotonic() - started < 2.5


def test_queued_request_expires_after_caller_gives_up(container_factory, service_config):
    """A request queued while no worker is free is dropped once its caller's deadline passed."""
    runs.clear()
    config = dict(service_config, max_workers=1)
    container = container_factory(SlowService, config)
    container.start()
    pool = RpcPool({"AMQP_URI": service_config["AMQP_URI"], "serializer": "json"}, size=2, timeout=0.5)

    blocker = eventlet.spawn(
        pool.call, "slow", "nap", {"request_id": "blocker-1", "deadline": time.time() + 10}, 1.5
    )
    eventlet.sleep(0.2)
    with pytest.raises(ServiceUnavailable):
        pool.call("slow", "nap", {"request_id": "late-1", "deadline": time.time() + 0.5}, 0.01)
    with pytest.raises(ServiceUnavailable):
        blocker.wait()

    eventlet.sleep(2.0)
    # The second call reached the worker only after its deadline, so it never ran.
    assert runs == [1.5]
    pool.close()


def test_pool_recovers_after_timeout(slow, service_config):
    pool = RpcPool({"AMQP_URI": service_config["AMQP_URI"], "serializer": "json"}, size=1, timeout=0.3)
    with pytest.raises(ServiceUnavailable):
        pool.call("slow", "nap", {"request_id": "t-1", "deadline": time.time() + 0.3}, 1)
    assert pool.call("slow", "nap", {"request_id": "t-2", "deadline": time.time() + 5}, 0) == 0
    pool.close()


def test_unknown_service_is_unavailable(service_config):
    pool = RpcPool({"AMQP_URI": service_config["AMQP_URI"], "serializer": "json"}, size=1, timeout=1)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        pool.call("nobody", "health", {"request_id": "u-1", "deadline": time.time() + 1})
    assert time.monotonic() - started < 2
    pool.close()
