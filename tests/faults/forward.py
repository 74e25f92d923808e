"""TCP forwarder on loopback that stands between the platform and a test server.

    python tests/faults/forward.py LISTEN_PORT TARGET_PORT

Killing the forwarder makes the target unreachable (connections refused, open ones reset) while
the target keeps its state. moto's S3 server keeps objects only in memory, so stopping moto itself
would lose every photo stored before the outage, which a real object store never does.
It runs as a subprocess because the test process runs under eventlet's monkey patch.
"""

import socket
import sys
import threading

LOOPBACK_HOST = "127.0.0.1"


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _serve(client: socket.socket, target_port: int) -> None:
    try:
        upstream = socket.create_connection((LOOPBACK_HOST, target_port), timeout=5)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()
    _pipe(upstream, client)


def main() -> None:
    listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((LOOPBACK_HOST, listen_port))
    server.listen(128)
    while True:
        client, _ = server.accept()
        threading.Thread(target=_serve, args=(client, target_port), daemon=True).start()


if __name__ == "__main__":
    main()
