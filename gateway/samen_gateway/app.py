"""Flask application factory of the Samen gateway."""

from __future__ import annotations

import time

import structlog
from flask import Flask, g, request
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from samen_common.logs import configure_logging
from samen_gateway.context import begin_request
from samen_gateway.errors import register_error_handlers
from samen_gateway.rpc_pool import RpcPool
from samen_gateway.settings import GatewaySettings, gateway_settings

log = structlog.get_logger(__name__)

# Blueprints of every API area, registered in this order.
BLUEPRINT_MODULES = [
    "samen_gateway.api.health",
    "samen_gateway.api.auth",
    "samen_gateway.api.me",
    "samen_gateway.api.messaging",
    "samen_gateway.api.timeline",
    "samen_gateway.api.media",
    "samen_gateway.api.requests",
    "samen_gateway.api.notify",
    "samen_gateway.api.documents",
    "samen_gateway.web",
]


def create_app(settings: GatewaySettings | None = None) -> Flask:
    configure_logging("gateway")
    settings = settings or gateway_settings()

    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SECRET_KEY=settings.secret_key,
        JSON_SORT_KEYS=False,
        SAMEN_SETTINGS=settings,
    )
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)
    if settings.cors_origins:
        CORS(app, origins=settings.cors_origins, supports_credentials=False,
             expose_headers=["X-Request-ID", "Retry-After"], max_age=600)

    nameko_config = {"AMQP_URI": settings.common.amqp_uri, "serializer": "json"}
    app.extensions["samen_rpc_pool"] = RpcPool(nameko_config, settings.rpc_pool_size, settings.rpc_timeout)

    register_error_handlers(app)
    app.before_request(begin_request)

    @app.after_request
    def finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if g.get("language"):
            response.headers.setdefault("Content-Language", g.language)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        started = g.get("started")
        log.info(
            "request.done",
            method=request.method,
            path=request.path,
            status=response.status_code,
            ms=round((time.monotonic() - started) * 1000, 1) if started else None,
            request_id=g.get("request_id"),
        )
        return response

    import importlib

    for module_name in BLUEPRINT_MODULES:
        app.register_blueprint(importlib.import_module(module_name).bp)
    return app
