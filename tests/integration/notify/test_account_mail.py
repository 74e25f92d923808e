"""Account mail end to end: accounts publishes, notify renders and sends to the SMTP sink."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from nameko.standalone.rpc import ServiceRpcProxy

from tests.integration.notify.conftest import wait_until


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def test_reset_request_sends_link(platform, service_config, context_data, world, smtp_sink, notify_db):
    with ServiceRpcProxy("accounts", service_config, context_data=context_data()) as accounts:
        accounts.request_password_reset("700000")

    messages = smtp_sink.wait_for(1)

    assert len(messages) == 1
    message = messages[0]
    assert message["To"] == "anna@example.org"
    assert message["Subject"] == "Je wachtwoord opnieuw instellen"
    links = re.findall(r"https://portal\.samen\.test/reset-password\?token=[\w%-]+", _text(message))
    assert len(links) == 1
    assert links[0] in _html(message)
    assert "Hallo Anna" in _text(message)
    # The stored copy of a sensitive mail loses its body once sent.
    rows = wait_until(lambda: notify_db("SELECT state, text_body FROM mail_deliveries WHERE state = 'sent'"))
    assert rows == [("sent", None)]


def test_reset_link_token_confirms(platform, service_config, context_data, world, smtp_sink):
    with ServiceRpcProxy("accounts", service_config, context_data=context_data()) as accounts:
        accounts.request_password_reset("700000")
        message = smtp_sink.wait_for(1)[0]
        token = re.search(r"reset-password\?token=([\w%-]+)", _text(message)).group(1)

        result = accounts.confirm_password_reset(token, "Een-heel-nieuw-wachtwoord-77")

    assert result


def test_reset_mail_in_english(platform, service_config, context_data, world, smtp_sink):
    with ServiceRpcProxy("accounts", service_config, context_data=context_data()) as accounts:
        accounts.request_password_reset("700001")

    message = smtp_sink.wait_for(1)[0]

    assert message["To"] == "ben@example.org"
    assert message["Subject"] == "Reset your password"
    assert "Hello Ben" in _text(message)


def test_password_changed_mail(platform, publish, world, smtp_sink):
    publish("accounts", "password_changed", {"account_id": world.accounts["carla"]})

    message = smtp_sink.wait_for(1)[0]

    assert message["To"] == "carla@example.org"
    assert message["Subject"] == "Je wachtwoord is gewijzigd"
    assert "Was jij dit niet?" in _text(message)
    assert "https://portal.samen.test/forgot-password" in _text(message)


def test_reset_completed_mail(platform, publish, world, smtp_sink):
    publish("accounts", "password_reset_completed", {"account_id": world.accounts["ben"]})

    message = smtp_sink.wait_for(1)[0]

    assert message["Subject"] == "Your password was changed"


def test_duplicate_event_one_mail(platform, publish, world, smtp_sink, notify_db):
    payload = publish("accounts", "password_changed", {"account_id": world.accounts["anna"]})
    publish("accounts", "password_changed", {"account_id": world.accounts["anna"]}, event_id=payload["event_id"])

    smtp_sink.wait_for(2, timeout=3)

    assert len(smtp_sink.messages()) == 1
    assert notify_db("SELECT count(*) FROM mail_deliveries") == [(1,)]


def test_expired_reset_event_not_sent(platform, publish, world, smtp_sink):
    expired = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    publish("accounts", "password_reset_requested",
            {"account_id": world.accounts["anna"], "expires_at": expired, "secret_token": "x" * 40})
    publish("accounts", "password_changed", {"account_id": world.accounts["carla"]})

    messages = smtp_sink.wait_for(1)
    smtp_sink.wait_for(2, timeout=1)

    assert [m["To"] for m in smtp_sink.messages()] == ["carla@example.org"]


def test_account_mail_ignores_preferences(platform, service_config, context_data, make_token, world, smtp_sink):
    token = make_token(world.accounts["anna"])
    with ServiceRpcProxy("notify", service_config, context_data=context_data(token)) as notify:
        settings = notify.notification_settings()
    assert settings["subjects"]["account"] == {"push": False, "email": True}

    with ServiceRpcProxy("accounts", service_config, context_data=context_data()) as accounts:
        accounts.request_password_reset("700000")

    assert len(smtp_sink.wait_for(1)) == 1


def test_html_escapes_names(platform, publish, world, smtp_sink, clean_db):
    import psycopg

    with psycopg.connect(clean_db["accounts"].replace("postgresql+psycopg", "postgresql"), autocommit=True) as sql:
        sql.execute("UPDATE accounts SET display_name = %s WHERE id = %s",
                    ("<b>Anna</b> & Co", world.accounts["anna"]))
    publish("accounts", "password_changed", {"account_id": world.accounts["anna"]})

    message = smtp_sink.wait_for(1)[0]

    assert "&lt;b&gt;Anna&lt;/b&gt; &amp; Co" in _html(message)
    assert "<b>Anna</b> & Co" in _text(message)
