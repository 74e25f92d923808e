"""nameko entrypoint for events that staff tools send, validated before the handler runs.

    class AccountsService:
        @staff_event("child_enrolled")
        def on_child_enrolled(self, event: dict): ...

Each consuming service gets its own durable queue `<service>.staff-tools.<event_type>`, bound
to the topic exchange `samen.staff-tools` with the contract's routing key and declared with
`x-dead-letter-exchange: samen.dlx`. A message is rejected without requeue, so RabbitMQ moves
it to `samen.dead-letters`, when:

- its payload fails the contract's schema (the handler never runs);
- it carries no `user_id` property, which RabbitMQ checks against the publishing connection's
  user, so every accepted event names the tool account that sent it;
- the handler raises `EventRejected` (the actor may not do this, or a record is unknown);
- the handler raises any other error except a database outage.

A database outage requeues the message after a pause, because it is likely to succeed later.
The handler's changes commit in one transaction with its `claim_event`, so a rejected or failed
event leaves no partial change behind.
"""

from __future__ import annotations

from functools import partial

import eventlet
import structlog
from kombu import Connection, Exchange, Queue
from marshmallow import ValidationError
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer

from samen_common.contracts import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    STAFF_TOOLS_EXCHANGE,
    EventContract,
    staff_contract,
    staff_contracts,
)
from samen_common.rpc import _is_database_outage

log = structlog.get_logger(__name__)

TOOL_USER = "staff_tool_user"
"""Context-data key holding the RabbitMQ user that published the event."""
OUTAGE_REQUEUE_DELAY = 2.0


class EventRejected(Exception):
    """A valid event that must not be applied; the consumer dead-letters it with `reason`."""

    def __init__(self, reason: str, **details: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


def staff_exchange() -> Exchange:
    return Exchange(STAFF_TOOLS_EXCHANGE, type="topic", durable=True)


def dead_letter_exchange() -> Exchange:
    return Exchange(DEAD_LETTER_EXCHANGE, type="fanout", durable=True)


def dead_letter_queue() -> Queue:
    return Queue(DEAD_LETTER_QUEUE, exchange=dead_letter_exchange(), routing_key="#", durable=True)


def staff_queue(contract: EventContract, consumer: str) -> Queue:
    """Return the durable, dead-lettering queue of `consumer` for one staff-tool event."""
    return Queue(
        contract.queue_name(consumer),
        exchange=staff_exchange(),
        routing_key=contract.routing_key,
        durable=True,
        queue_arguments={"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE},
    )


def declare_topology(connection: Connection, consumers_only: str | None = None) -> list[str]:
    """Declare the exchanges, the dead-letter queue and the staff-tool queues; return the queue names.

    With `consumers_only` set to a service name, only that service's queues are declared.
    Declaring every queue before the consumers run keeps events that arrive early waiting.
    """
    channel = connection.channel()
    try:
        staff_exchange()(channel).declare()
        dead_letter_exchange()(channel).declare()
        dead_letter_queue()(channel).declare()
        names = [DEAD_LETTER_QUEUE]
        for contract in staff_contracts():
            for consumer in contract.consumers:
                if consumers_only in (None, consumer):
                    staff_queue(contract, consumer)(channel).declare()
                    names.append(contract.queue_name(consumer))
        return names
    finally:
        channel.close()


class StaffEventConsumer(Consumer):
    """Consume one staff-tool event type, validating each message before a worker starts."""

    def __init__(self, event_type: str, version: int | None = None, **kwargs):
        self.contract = staff_contract(event_type, version)
        super().__init__(queue=None, requeue_on_error=False, **kwargs)

    def setup(self):
        service = self.container.service_name
        if service not in self.contract.consumers:
            raise RuntimeError(
                f"service {service} consumes {self.contract.event_type} but the contract lists only "
                f"{', '.join(self.contract.consumers)}; add it to the contract's consumers"
            )
        self.queue = staff_queue(self.contract, service)
        with Connection(self.container.config[AMQP_URI_CONFIG_KEY], connect_timeout=10) as connection:
            declare_topology(connection, consumers_only=service)
        super().setup()

    def handle_message(self, body, message):
        tool_user = message.properties.get("user_id")
        fields = {
            "event_type": self.contract.event_type,
            "event_id": body.get("event_id") if isinstance(body, dict) else None,
            "tool_user": tool_user,
        }
        if not tool_user:
            self._dead_letter(message, "publisher_not_identified", **fields)
            return
        try:
            event = self.contract.load(body)
        except ValidationError as exc:
            self._dead_letter(message, "schema_invalid", errors=exc.messages, **fields)
            return

        context_data = self.unpack_message_headers(message)
        context_data[TOOL_USER] = tool_user
        try:
            self.container.spawn_worker(
                self, (event,), {}, context_data=context_data, handle_result=partial(self.handle_result, message)
            )
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        error = exc_info[1]
        fields = {"event_type": self.contract.event_type, "event_id": _event_id(message)}
        if isinstance(error, EventRejected):
            self._dead_letter(message, error.reason, **{**error.details, **fields})
        elif _is_database_outage(error):
            log.warning("staff_event.requeued_on_outage", error=str(error)[:300], **fields)
            eventlet.sleep(OUTAGE_REQUEUE_DELAY)
            self.queue_consumer.requeue_message(message)
        else:
            self._dead_letter(message, "handler_failed", error=f"{type(error).__name__}: {str(error)[:300]}", **fields)

    def _dead_letter(self, message, reason: str, **fields) -> None:
        log.warning("staff_event.dead_lettered", reason=reason, queue=self.queue.name, **fields)
        if message.channel.connection:
            try:
                message.reject(requeue=False)
            except ConnectionError:
                # The broker already took the unacknowledged message back and delivers it again.
                pass


def _event_id(message) -> str | None:
    payload = message.payload
    return payload.get("event_id") if isinstance(payload, dict) else None


staff_event = StaffEventConsumer.decorator
