#!/usr/bin/env bash
# Install what the browser tests need: Debian's Chromium, Playwright for Python (which drives the
# system Chromium and never downloads a browser) and axe-core for the accessibility checks.
set -euo pipefail
cd "$(dirname "$0")/.."

AXE_VERSION="4.11.0"
AXE_DIR="${SAMEN_DATA_DIR:-$PWD/var}/browser"

if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        apt-get install -y -qq chromium chromium-driver
    else
        echo "chromium is missing; install it with: apt-get install -y chromium chromium-driver" >&2
        exit 1
    fi
fi

if ! .venv/bin/python -c "import playwright" 2>/dev/null; then
    .venv/bin/pip install --quiet "$(grep -i '^playwright==' requirements-dev.txt)"
fi

if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
    mkdir -p "$AXE_DIR"
    npm install --silent --no-audit --no-fund --prefix "$AXE_DIR" "axe-core@$AXE_VERSION"
fi
echo "browser tests: chromium $(chromium --version 2>/dev/null | awk '{print $2}'), axe-core $AXE_VERSION in $AXE_DIR"
