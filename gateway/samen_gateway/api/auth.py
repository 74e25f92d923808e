"""Login, token refresh, logout and password endpoints."""

from __future__ import annotations

from flask import Blueprint, g
from marshmallow import Schema, fields, validate

from samen_common.errors import NotFound
from samen_gateway.context import rpc
from samen_gateway.endpoints import endpoint

bp = Blueprint("auth", __name__, url_prefix="/api/v1")


class LoginRequest(Schema):
    account_number = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    remember_me = fields.Boolean(load_default=False)


class TokenResponse(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String()
    expires_in = fields.Integer(required=True, metadata={"description": "Access token lifetime in seconds"})


class RefreshRequest(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class LogoutRequest(Schema):
    refresh_token = fields.String(load_default=None, validate=validate.Length(max=200))
    device_token = fields.String(
        load_default=None, validate=validate.Length(max=4096),
        metadata={"description": "FCM token of this device; unregistered when an access token is sent too"},
    )


class ResetRequest(Schema):
    account_number = fields.String(required=True, validate=validate.Length(min=1, max=64))


class ResetConfirmRequest(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))
    new_password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class PasswordChangeRequest(Schema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    new_password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class StatusResponse(Schema):
    status = fields.String(required=True)


@endpoint(bp, "/auth/login", "POST", summary="Log in with account number and password",
          body=LoginRequest, response=TokenResponse, auth=False, errors=[400, 401, 429, 503])
def login(body):
    return rpc("accounts", "login", body["account_number"], body["password"], body["remember_me"])


@endpoint(bp, "/auth/refresh", "POST", summary="Exchange a refresh token for new tokens (rotation)",
          body=RefreshRequest, response=TokenResponse, auth=False, errors=[400, 401, 503])
def refresh(body):
    return rpc("accounts", "refresh", body["refresh_token"])


@endpoint(bp, "/auth/logout", "POST", summary="Revoke this login's refresh tokens",
          body=LogoutRequest, response=StatusResponse, auth=False, errors=[400, 503])
def logout(body):
    if body.get("device_token") and g.get("caller") is not None:
        try:
            rpc("notify", "unregister_device", body["device_token"])
        except NotFound:
            pass
    rpc("accounts", "logout", body.get("refresh_token"))
    return {"status": "logged_out"}


@endpoint(bp, "/auth/logout-everywhere", "POST", summary="Revoke every login of the account",
          response=StatusResponse, errors=[401, 503])
def logout_everywhere():
    rpc("accounts", "logout_everywhere")
    return {"status": "logged_out"}


@endpoint(bp, "/auth/password-reset", "POST", summary="Request a password-reset e-mail",
          body=ResetRequest, response=StatusResponse, status=202, auth=False, errors=[400, 503])
def password_reset(body):
    rpc("accounts", "request_password_reset", body["account_number"])
    return {"status": "accepted"}


@endpoint(bp, "/auth/password-reset/confirm", "POST", summary="Set a new password with a reset token",
          body=ResetConfirmRequest, response=StatusResponse, auth=False, errors=[400, 503])
def password_reset_confirm(body):
    rpc("accounts", "confirm_password_reset", body["token"], body["new_password"])
    return {"status": "password_reset"}


@endpoint(bp, "/me/password", "PUT", summary="Change the password; other logins are revoked",
          body=PasswordChangeRequest, response=StatusResponse, errors=[400, 401, 503])
def change_password(body):
    rpc("accounts", "change_password", body["current_password"], body["new_password"])
    return {"status": "password_changed"}
