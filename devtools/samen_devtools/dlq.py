"""Dead-letter queue of the event queues: set it up, list what it holds, replay it.

    python -m samen_devtools.dlq ensure             declare samen.dlx, samen.dead-letters and the policy
    python -m samen_devtools.dlq list [--count N]   show dead-lettered messages without removing them
    python -m samen_devtools.dlq replay [--count N] publish them again to their original exchange

nameko names an event handler's queue `evt-<source>-<event_type>--<service>.<method>`. The
policy `samen-dead-letter` gives every queue whose name starts with `evt-` the argument
`dead-letter-exchange: samen.dlx`, so a message that a consumer rejects without requeueing
lands in the durable queue `samen.dead-letters` instead of being dropped. RabbitMQ records the
original exchange and routing keys in the message's `x-death` header, which `replay` uses.

The management API URL comes from `SAMEN_RABBIT_API_URI` (default http://guest:guest@127.0.0.1:15672),
the vhost from the path of `SAMEN_AMQP_URI`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from urllib.parse import quote, unquote, urlsplit

import requests
from kombu import Connection, Exchange, Queue

DLX = "samen.dlx"
DEAD_LETTER_QUEUE = "samen.dead-letters"
POLICY = "samen-dead-letter"
POLICY_PATTERN = "^evt-"


def _api_base(api_uri: str) -> tuple[str, tuple[str, str]]:
    parts = urlsplit(api_uri)
    auth = (unquote(parts.username or "guest"), unquote(parts.password or "guest"))
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}", auth


def vhost_of(amqp_uri: str) -> str:
    path = urlsplit(amqp_uri).path.lstrip("/")
    return unquote(path) or "/"


def ensure(api_uri: str, vhost: str) -> None:
    """Declare the dead-letter exchange and queue and apply the policy; safe to run again."""
    base, auth = _api_base(api_uri)
    encoded = quote(vhost, safe="")
    calls = [
        (f"{base}/api/exchanges/{encoded}/{DLX}", {"type": "fanout", "durable": True}),
        (f"{base}/api/queues/{encoded}/{DEAD_LETTER_QUEUE}", {"durable": True}),
        (f"{base}/api/bindings/{encoded}/e/{DLX}/q/{DEAD_LETTER_QUEUE}", {"routing_key": ""}),
        (
            f"{base}/api/policies/{encoded}/{POLICY}",
            {"pattern": POLICY_PATTERN, "apply-to": "queues", "priority": 0,
             "definition": {"dead-letter-exchange": DLX}},
        ),
    ]
    for url, body in calls:
        method = requests.post if "/api/bindings/" in url else requests.put
        response = method(url, json=body, auth=auth, timeout=10)
        if response.status_code >= 300:
            raise SystemExit(f"RabbitMQ management API rejected {url}: {response.status_code} {response.text[:200]}")


def _origin(headers: dict) -> tuple[str, str, str]:
    """Return the exchange, routing key and queue a dead-lettered message came from."""
    deaths = (headers or {}).get("x-death") or [{}]
    first = deaths[0]
    routing_keys = first.get("routing-keys") or [""]
    return first.get("exchange", ""), routing_keys[0], first.get("queue", "")


def list_messages(api_uri: str, vhost: str, count: int) -> list[dict]:
    """Return up to `count` dead-lettered messages; they stay in the queue."""
    base, auth = _api_base(api_uri)
    response = requests.post(
        f"{base}/api/queues/{quote(vhost, safe='')}/{DEAD_LETTER_QUEUE}/get",
        json={"count": count, "ackmode": "ack_requeue_true", "encoding": "auto"},
        auth=auth, timeout=10,
    )
    response.raise_for_status()
    messages = []
    for item in response.json():
        exchange, routing_key, queue = _origin(item["properties"].get("headers", {}))
        deaths = item["properties"].get("headers", {}).get("x-death") or [{}]
        messages.append({
            "exchange": exchange, "routing_key": routing_key, "queue": queue,
            "reason": deaths[0].get("reason"), "count": deaths[0].get("count"),
            "payload": item["payload"],
        })
    return messages


def replay(amqp_uri: str, count: int) -> int:
    """Publish up to `count` dead-lettered messages to their original exchange; return how many."""
    replayed = 0
    with Connection(amqp_uri, transport_options={"confirm_publish": True}, connect_timeout=5) as connection:
        queue = Queue(DEAD_LETTER_QUEUE, durable=True, channel=connection.default_channel)
        producer = connection.Producer()
        while replayed < count:
            message = queue.get(no_ack=False)
            if message is None:
                break
            exchange, routing_key, _ = _origin(message.headers)
            headers = {k: v for k, v in message.headers.items() if k != "x-death"}
            # Publishing is confirmed before the dead letter is acknowledged: a crash in between
            # delivers the event twice, which consumers absorb with claim_event.
            producer.publish(
                message.body, exchange=Exchange(exchange, passive=True), routing_key=routing_key,
                headers=headers, content_type=message.content_type,
                content_encoding=message.content_encoding, delivery_mode=2,
            )
            message.ack()
            replayed += 1
    return replayed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m samen_devtools.dlq", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["ensure", "list", "replay"])
    parser.add_argument("--count", type=int, default=100, help="maximum number of messages (default 100)")
    args = parser.parse_args(argv)

    amqp_uri = os.environ.get("SAMEN_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    api_uri = os.environ.get("SAMEN_RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")
    vhost = vhost_of(amqp_uri)

    if args.command == "ensure":
        ensure(api_uri, vhost)
        print(f"dead-lettering of {POLICY_PATTERN} queues to {DEAD_LETTER_QUEUE} is set up on vhost {vhost}")
    elif args.command == "list":
        for message in list_messages(api_uri, vhost, args.count):
            print(json.dumps(message, ensure_ascii=False))
    else:
        print(f"replayed {replay(amqp_uri, args.count)} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
