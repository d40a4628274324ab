#!/usr/bin/env bash
# Install what the dashboard's browser tests need: Debian's chromium and Playwright for
# Python (the driver only; Playwright never downloads a browser here, the tests launch
# /usr/bin/chromium). Idempotent: does nothing that is already done. Run as root in CI.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"

if [ ! -x /usr/bin/chromium ]; then
    echo "[browser] installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
else
    echo "[browser] chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || true)"
fi

if [ ! -x "$PYTHON" ]; then
    # No virtualenv yet: `make venv` installs Playwright with the dev extras of pyproject.toml.
    echo "[browser] $PYTHON not there yet: Playwright comes with the project's dev extras"
elif ! "$PYTHON" -c "import playwright, axe_playwright_python" 2>/dev/null; then
    echo "[browser] installing Playwright for Python (driver only, no browser download) and axe-core"
    "$PYTHON" -m pip install -q "playwright>=1.49" "axe-playwright-python>=0.1.8"
else
    echo "[browser] Playwright for Python already installed"
fi
