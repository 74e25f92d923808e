"""The logged-in account's profile."""

from __future__ import annotations

from flask import Blueprint
from marshmallow import Schema, fields, validate

from samen_gateway.context import rpc
from samen_gateway.endpoints import endpoint

bp = Blueprint("me", __name__, url_prefix="/api/v1")


class ChildSummary(Schema):
    id = fields.String(required=True)
    first_name = fields.String()
    last_name = fields.String()
    birth_date = fields.String()
    photo_consent = fields.Boolean()
    care_active = fields.Boolean()
    group_id = fields.String(allow_none=True)
    group_name = fields.String(allow_none=True)
    location_id = fields.String(allow_none=True)
    location_name = fields.String(allow_none=True)


class StaffGroup(Schema):
    id = fields.String()
    name = fields.String()
    location_id = fields.String()
    location_name = fields.String()
    works_here = fields.Boolean()


class MeResponse(Schema):
    id = fields.String(required=True)
    account_number = fields.String()
    kind = fields.String(metadata={"description": "guardian or staff"})
    display_name = fields.String()
    email = fields.String(allow_none=True)
    language = fields.String()
    children = fields.List(fields.Nested(ChildSummary))
    roles = fields.List(fields.String())
    groups = fields.List(fields.Nested(StaffGroup))


class MeUpdate(Schema):
    language = fields.String(validate=validate.OneOf(["nl", "en"]))


@endpoint(bp, "/me", "GET", summary="Profile, language and (for a guardian) the children", response=MeResponse,
          errors=[401, 503])
def me():
    return rpc("accounts", "me")


@endpoint(bp, "/me", "PATCH", summary="Change the profile language", body=MeUpdate, response=MeResponse,
          errors=[400, 401, 503])
def update_me(body):
    return rpc("accounts", "update_me", language=body.get("language"))
