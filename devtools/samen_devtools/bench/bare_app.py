"""The baseline of the gateway benchmark: a Flask app with one JSON endpoint and nothing else."""

from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/bare")
    def bare():
        return {"id": "00000000-0000-0000-0000-000000000000", "kind": "guardian", "language": "nl"}

    return app
