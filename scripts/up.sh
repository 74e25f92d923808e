#!/usr/bin/env bash
# Run the whole platform in the foreground; Ctrl-C stops every process.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=.venv/bin/python
export SAMEN_ENV="${SAMEN_ENV:-development}"
export SAMEN_DATA_DIR="${SAMEN_DATA_DIR:-$PWD/var}"
export SAMEN_LOG_FORMAT="${SAMEN_LOG_FORMAT:-console}"
export SAMEN_GATEWAY_BIND="${SAMEN_GATEWAY_BIND:-127.0.0.1:8080}"
export SAMEN_PUBLIC_URL="${SAMEN_PUBLIC_URL:-http://$SAMEN_GATEWAY_BIND}"
export PATH="$PWD/.venv/bin:$PATH"

"$PYTHON" -m samen_devtools.supervise deploy/Procfile "$@" &
supervisor=$!

stop() {
    kill -INT "$supervisor" 2>/dev/null || true
    wait "$supervisor" 2>/dev/null || true
    exit 0
}
trap stop INT TERM

for _ in $(seq 1 120); do
    if curl -fsS "$SAMEN_PUBLIC_URL/readyz" >/dev/null 2>&1; then
        "$PYTHON" -m samen_devtools.demo --print-logins "$SAMEN_PUBLIC_URL"
        "$PYTHON" -m samen_devtools.demo --sync-services >/dev/null 2>&1 || true
        echo "Press Ctrl-C to stop."
        break
    fi
    if ! kill -0 "$supervisor" 2>/dev/null; then
        echo "the supervisor exited; see the lines above" >&2
        exit 1
    fi
    sleep 1
done

wait "$supervisor"
