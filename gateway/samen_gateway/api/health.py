"""Liveness, readiness and the OpenAPI document."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, current_app, jsonify

from samen_common.errors import SamenError
from samen_gateway.context import call_context
from samen_gateway.openapi import build_spec

bp = Blueprint("health", __name__)

SERVICES = ("accounts", "media", "messaging", "requests", "notify")


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Return 200 when the broker and every service reply to a health RPC, else 503."""
    pool = current_app.extensions["samen_rpc_pool"]
    data = call_context()

    def check(service):
        started = time.monotonic()
        try:
            pool.call(service, "health", dict(data))
            return service, {"status": "ok", "ms": round((time.monotonic() - started) * 1000, 1)}
        except SamenError as exc:
            return service, {"status": "unavailable", "code": exc.code}

    with ThreadPoolExecutor(max_workers=len(SERVICES)) as executor:
        results = dict(executor.map(check, SERVICES))
    ready = all(result["status"] == "ok" for result in results.values())
    response = jsonify({"status": "ready" if ready else "not_ready", "services": results})
    response.status_code = 200 if ready else 503
    if not ready:
        response.headers["Retry-After"] = "2"
    return response


@bp.get("/api/v1/openapi.json")
def openapi():
    return jsonify(build_spec(current_app))
