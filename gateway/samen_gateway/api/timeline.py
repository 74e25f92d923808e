"""The guardian timeline: photos, notebook entries, messages and news of the caller's children."""

from __future__ import annotations

from flask import Blueprint
from marshmallow import Schema, fields, validate

from samen_gateway.context import rpc
from samen_gateway.endpoints import endpoint

bp = Blueprint("timeline", __name__, url_prefix="/api/v1")


class TimelineQuery(Schema):
    child_id = fields.String(load_default=None)
    cursor = fields.String(load_default=None, metadata={"description": "next_cursor of the previous page"})
    limit = fields.Integer(load_default=None, validate=validate.Range(min=1, max=100))


@endpoint(bp, "/timeline", "GET", summary="The guardian's timeline, newest first, with a keyset cursor",
          query=TimelineQuery, errors=[400, 401, 404, 503])
def timeline(query):
    return rpc("messaging", "timeline", query["child_id"], query["cursor"], query["limit"])
