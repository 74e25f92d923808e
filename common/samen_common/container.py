"""The nameko service container that every Samen service runs in (`SERVICE_CONTAINER_CLS`)."""

from __future__ import annotations

import logging
import sys

from nameko.containers import ServiceContainer

# nameko's own logger, so the levels that samen_common.logs sets for it apply here too.
_log = logging.getLogger("nameko.containers")


class SamenContainer(ServiceContainer):
    """nameko 2.14.1's ServiceContainer, with a worker that skips debug bookkeeping unless DEBUG is on.

    nameko's `_run_worker` builds the worker's call id stack (a `uuid4`) for a debug line and
    times four steps with context managers, whether or not DEBUG logging is on. In a py-spy
    profile of the echo benchmark that bookkeeping took about a tenth of the service's samples.
    With DEBUG enabled on `nameko.containers`, nameko's own method runs, with its log lines.
    Otherwise the steps, their order and the error handling are the same as there.
    """

    def _run_worker(self, worker_ctx, handle_result):
        if _log.isEnabledFor(logging.DEBUG):
            return super()._run_worker(worker_ctx, handle_result)

        self._inject_dependencies(worker_ctx)
        self._worker_setup(worker_ctx)

        result = exc_info = None
        method = getattr(worker_ctx.service, worker_ctx.entrypoint.method_name)
        try:
            result = method(*worker_ctx.args, **worker_ctx.kwargs)
        except Exception as exc:
            if isinstance(exc, worker_ctx.entrypoint.expected_exceptions):
                _log.warning("(expected) error handling worker %s: %s", worker_ctx, exc, exc_info=True)
            else:
                _log.exception("error handling worker %s: %s", worker_ctx, exc)
            exc_info = sys.exc_info()

        if handle_result is not None:
            result, exc_info = handle_result(worker_ctx, result, exc_info)

        self._worker_result(worker_ctx, result, exc_info)
        # Dropping the traceback breaks its reference cycle, as nameko does.
        del exc_info
        self._worker_teardown(worker_ctx)
        return None
