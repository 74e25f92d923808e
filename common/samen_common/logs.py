"""Structured logging: JSON lines in production, readable lines in development.

Every line carries the request id and service bound through `structlog.contextvars`, which
greenlets keep apart because each nameko worker runs in its own greenlet.
"""

from __future__ import annotations

import logging
import os
import sys

import structlog

_configured = False


def configure_logging(service: str, level: str | None = None, json_output: bool | None = None) -> None:
    global _configured
    if _configured:
        return
    _configured = True

    level = (level or os.environ.get("SAMEN_LOG_LEVEL", "INFO")).upper()
    if json_output is None:
        json_output = os.environ.get("SAMEN_LOG_FORMAT", "json") == "json"

    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_service(service),
    ]
    renderer = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        # filter_by_level drops an event below the logger's level before any other processor
        # runs, so a debug line on a hot path costs a level check, not a time stamp.
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("kombu", "urllib3", "botocore", "s3transfer"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # py-amqp warns about every frame that arrives on a channel being closed. That happens on each
    # RPC to a service that is not running, which the gateway logs as rpc.unknown_service.
    logging.getLogger("amqp").setLevel(max(logging.ERROR, root.level))
    # nameko logs every expected exception (SamenError) with its traceback at WARNING; the RPC
    # entrypoint logs those as one rpc.rejected line instead. Unexpected errors stay at ERROR.
    logging.getLogger("nameko.containers").setLevel(max(logging.ERROR, root.level))


def _add_service(service: str):
    def processor(logger, method_name, event_dict):
        event_dict.setdefault("service", service)
        # The process id distinguishes replicas of one service in merged logs.
        event_dict.setdefault("pid", os.getpid())
        return event_dict

    return processor


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
