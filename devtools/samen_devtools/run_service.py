"""Run one service by name: `python -m samen_devtools.run_service media-2`.

Everything before the first dash is the service name, so several instances of one service can
share a name prefix (systemd's `samen-service@media-2`). The service class is named explicitly,
because `nameko run <module>` would also start every imported mixin class that has entrypoints.
"""

from __future__ import annotations

import os
import sys

SERVICE_CLASSES = {
    "accounts": "samen_accounts.service:AccountsService",
    "media": "samen_media.service:MediaService",
    "messaging": "samen_messaging.service:MessagingService",
    "requests": "samen_requests.service:RequestsService",
    "notify": "samen_notify.service:NotifyService",
}


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m samen_devtools.run_service NAME[-INSTANCE]")
    name = sys.argv[1].split("-", 1)[0]
    if name not in SERVICE_CLASSES:
        sys.exit(f"unknown service {name!r}; expected one of {', '.join(sorted(SERVICE_CLASSES))}")
    config = os.environ.get("SAMEN_NAMEKO_CONFIG", "deploy/nameko.yaml")
    # The nameko script of this interpreter's environment, so no PATH set-up is needed.
    nameko = os.path.join(os.path.dirname(sys.executable), "nameko")
    os.execv(nameko, [nameko, "run", "--config", config, SERVICE_CLASSES[name]])


if __name__ == "__main__":
    main()
