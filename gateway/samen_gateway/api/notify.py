"""Notification settings, devices for push, and the in-app inbox of the logged-in account."""

from __future__ import annotations

from flask import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from samen_gateway.context import rpc
from samen_gateway.endpoints import endpoint

bp = Blueprint("notify", __name__, url_prefix="/api/v1")

SUBJECTS = ("photos", "notebook", "messages", "news", "requests", "documents", "account")


class ChannelSwitches(Schema):
    push = fields.Boolean()
    email = fields.Boolean()


class QuietHours(Schema):
    class Meta:
        # A client may send back what GET returned, read-only fields included.
        unknown = EXCLUDE

    enabled = fields.Boolean()
    start = fields.String(validate=validate.Regexp(r"^\d{1,2}:\d{2}$"), metadata={"example": "21:00"})
    end = fields.String(validate=validate.Regexp(r"^\d{1,2}:\d{2}$"), metadata={"example": "07:00"})
    time_zone = fields.String(dump_only=True)


class NotificationSettings(Schema):
    class Meta:
        unknown = EXCLUDE

    subjects = fields.Dict(
        keys=fields.String(validate=validate.OneOf(SUBJECTS)), values=fields.Nested(ChannelSwitches),
        metadata={"description": "Per subject, whether it arrives by push and by e-mail"},
    )
    fixed_subjects = fields.List(fields.String(), dump_only=True,
                                 metadata={"description": "Subjects that cannot be switched off (account)"})
    quiet_hours = fields.Nested(QuietHours)


class DeviceRequest(Schema):
    token = fields.String(required=True, validate=validate.Length(min=20, max=4096),
                          metadata={"description": "FCM registration token"})
    platform = fields.String(required=True, validate=validate.OneOf(["android", "ios", "web"]))
    name = fields.String(load_default="", validate=validate.Length(max=100))


class DeviceResponse(Schema):
    id = fields.String()
    platform = fields.String()
    name = fields.String()
    token_suffix = fields.String(metadata={"description": "Last 6 characters of the token"})
    registered_at = fields.String()


class RemovedResponse(Schema):
    removed = fields.Integer()


class InboxQuery(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))


class InboxItem(Schema):
    id = fields.String()
    subject = fields.String()
    title = fields.String()
    item_id = fields.String(allow_none=True, metadata={"description": "Photo, thread, entry, news or request id"})
    child_ids = fields.List(fields.String())
    created_at = fields.String()
    read_at = fields.String(allow_none=True)


class InboxPage(Schema):
    items = fields.List(fields.Nested(InboxItem))
    unread_count = fields.Integer()
    next_cursor = fields.String(allow_none=True)


class ReadResponse(Schema):
    id = fields.String()
    read_at = fields.String()
    unread_count = fields.Integer()


class ReadAllResponse(Schema):
    marked = fields.Integer()
    unread_count = fields.Integer()


class DeliveryStep(Schema):
    occurred_at = fields.String()
    channel = fields.String()
    delivery_id = fields.String()
    device_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "queued, sent, retried or failed"})
    reason = fields.String(allow_none=True)


@endpoint(bp, "/me/notification-settings", "GET", summary="Notification switches per subject and channel",
          response=NotificationSettings, errors=[401, 503])
def get_notification_settings():
    return rpc("notify", "notification_settings")


@endpoint(bp, "/me/notification-settings", "PUT", summary="Change notification switches and quiet hours",
          body=NotificationSettings, response=NotificationSettings, errors=[400, 401, 503])
def put_notification_settings(body):
    return rpc("notify", "update_notification_settings", body)


@endpoint(bp, "/me/devices", "POST", summary="Register this device's FCM token for push", body=DeviceRequest,
          response=DeviceResponse, status=201, errors=[400, 401, 503])
def register_device(body):
    return rpc("notify", "register_device", body["token"], body["platform"], body["name"])


@endpoint(bp, "/me/devices", "GET", summary="Devices registered for push", response=DeviceResponse, many=True,
          errors=[401, 503])
def list_devices():
    return rpc("notify", "list_devices")


@endpoint(bp, "/me/devices/<path:token_or_id>", "DELETE", summary="Unregister a device by FCM token or device id",
          response=RemovedResponse, errors=[401, 503])
def unregister_device(token_or_id):
    return rpc("notify", "unregister_device", token_or_id)


@endpoint(bp, "/me/notifications", "GET", summary="Inbox, newest first, with unread count and a page cursor",
          query=InboxQuery, response=InboxPage, errors=[400, 401, 503])
def list_notifications(query):
    return rpc("notify", "list_notifications", query["limit"], query["cursor"])


@endpoint(bp, "/me/notifications/read-all", "POST", summary="Mark every notification read",
          response=ReadAllResponse, errors=[401, 503])
def mark_all_read():
    return rpc("notify", "mark_all_read")


@endpoint(bp, "/me/notifications/<notification_id>/read", "POST", summary="Mark one notification read",
          response=ReadResponse, errors=[401, 404, 503])
def mark_read(notification_id):
    return rpc("notify", "mark_read", notification_id)


@endpoint(bp, "/me/notifications/<notification_id>/deliveries", "GET",
          summary="Delivery log of one notification: each push and e-mail step", response=DeliveryStep, many=True,
          errors=[401, 404, 503])
def delivery_log(notification_id):
    return rpc("notify", "delivery_log", notification_id)
