"""SMTP server on 127.0.0.1 that stores every received message as an .eml file, for tests.

    python -m samen_devtools.smtp_sink --port 8025 --dir var/mail-sink [--reject-recipient ADDRESS]

It prints one line, `smtp_sink listening on 127.0.0.1:<port>`, once it accepts connections,
and nothing else on standard output. `--reject-recipient` (repeatable; an address or
`@domain`) rejects RCPT TO for that recipient with a permanent 550, as a mail server does
for a mailbox that does not exist. Tests run it as a subprocess, because aiosmtpd uses asyncio
in a thread and the test process runs under eventlet's monkey patch.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller

LOOPBACK_HOST = "127.0.0.1"


class SinkHandler:
    """aiosmtpd handler that rejects configured recipients and writes each message to a file."""

    def __init__(self, directory: Path, rejected: list[str]):
        self.directory = directory
        self.rejected = [value.lower() for value in rejected]

    def _is_rejected(self, address: str) -> bool:
        address = address.lower()
        return any(address == rule or (rule.startswith("@") and address.endswith(rule)) for rule in self.rejected)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd hook name
        if self._is_rejected(address):
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        temporary = self.directory / (name + ".tmp")
        temporary.write_bytes(envelope.original_content or envelope.content)
        # The rename makes a file appear complete, so a reader never sees half a message.
        temporary.replace(self.directory / name)
        return "250 Message accepted"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m samen_devtools.smtp_sink", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8025, help="TCP port on 127.0.0.1 (default 8025)")
    parser.add_argument("--dir", type=Path, required=True, help="directory for the received .eml files")
    parser.add_argument("--reject-recipient", action="append", default=[], metavar="ADDRESS",
                        help="reject RCPT TO for this address (or @domain) with 550; repeatable")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    args.dir.mkdir(parents=True, exist_ok=True)
    controller = Controller(SinkHandler(args.dir, args.reject_recipient), hostname=LOOPBACK_HOST, port=args.port)
    controller.start()
    print(f"smtp_sink listening on {LOOPBACK_HOST}:{args.port}", flush=True)

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()


if __name__ == "__main__":
    main()
