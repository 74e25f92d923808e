"""A bounded pool of long-lived RPC reply listeners for the gateway's request threads.

Each slot owns one broker connection and one reply queue, created lazily after the server
forks. A request checks a slot out, builds a cheap per-request proxy that carries its own
context data (request id, access token, language, deadline), and returns the slot. A slot
whose connection failed or timed out is dropped and replaced, so a broker restart costs
503s for a moment and never a restart of the gateway.
"""

from __future__ import annotations

import importlib.util
import queue
import sys
import threading
import time

import structlog
from amqp.exceptions import AMQPError
from kombu.exceptions import KombuError
from nameko.constants import NON_PERSISTENT
from nameko.containers import WorkerContext
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.rpc import ServiceProxy
from nameko.standalone.rpc import SingleThreadedReplyListener, StandaloneProxyBase

from samen_common.errors import SamenError, ServiceUnavailable

log = structlog.get_logger(__name__)


def _skip_librabbitmq_probe() -> None:
    """Make kombu's per-connection check for librabbitmq fail without searching sys.path.

    nameko 2.14.1 builds a kombu `Connection` for every publish, and kombu 5 then runs
    `import librabbitmq` outside eventlet. When the package is missing, the failed import is
    not cached, so every RPC from the gateway scanned sys.path under the global import lock.
    A None entry in sys.modules makes that import raise ImportError at once: building a
    `Connection` took 99 µs before and 16 µs after (timeit, kombu 5.7, 2-core Xeon).
    """
    if "librabbitmq" not in sys.modules and importlib.util.find_spec("librabbitmq") is None:
        sys.modules["librabbitmq"] = None


_skip_librabbitmq_probe()

PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.3, "interval_max": 0.5}


class _Slot:
    def __init__(self, config: dict, timeout: float):
        self.container = StandaloneProxyBase.ServiceContainer(config)
        self.container.service_name = "gateway"
        self.listener = SingleThreadedReplyListener(timeout=timeout).bind(self.container)
        self.listener.setup()

    def proxy(self, service: str, context_data: dict) -> ServiceProxy:
        worker_ctx = WorkerContext(self.container, service=None, entrypoint=StandaloneProxyBase.Dummy, data=context_data)
        # Transient requests with confirms: see samen_common.rpc for why.
        return ServiceProxy(
            worker_ctx, service, self.listener, retry_policy=PUBLISH_RETRY_POLICY, delivery_mode=NON_PERSISTENT
        )

    def close(self) -> None:
        try:
            self.listener.stop()
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
            result = getattr(slot.proxy(service, context_data), method)(*args, **kwargs)
        except SamenError:
            self._idle.put(slot)
            raise
        except RpcTimeout:
            self._discard(slot)
            log.warning("rpc.timeout", target=f"{service}.{method}", timeout=self.timeout)
            raise ServiceUnavailable() from None
        except UnknownService:
            self._idle.put(slot)
            log.warning("rpc.unknown_service", target=f"{service}.{method}")
            raise ServiceUnavailable() from None
        except (OSError, RuntimeError, KombuError, AMQPError) as exc:
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
