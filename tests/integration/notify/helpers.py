"""Small helpers shared by the notify integration tests."""

from __future__ import annotations

import secrets

from nameko.standalone.rpc import ServiceRpcProxy


def device_token() -> str:
    """Return a string shaped like an FCM registration token."""
    return secrets.token_urlsafe(16) + ":APA91b" + secrets.token_urlsafe(105)


class NotifyClient:
    """Calls the notify service as one account, the way the gateway does."""

    def __init__(self, service_config, context_data, make_token, account_id: str, kind: str = "guardian",
                 language: str = "nl"):
        self.config = service_config
        self.context = context_data(make_token(account_id, kind, language=language), language=language)

    def __getattr__(self, method):
        def call(*args, **kwargs):
            with ServiceRpcProxy("notify", self.config, context_data=self.context) as proxy:
                return getattr(proxy, method)(*args, **kwargs)

        return call


def titles(messages: list[dict]) -> list[str]:
    return [message["message"]["notification"]["title"] for message in messages]
