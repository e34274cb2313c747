#!/usr/bin/env bash
# Installs Debian's Chromium and ChromeDriver for the browser tests (tests/tests/browser.rs) when
# either is missing. Quiet when both are there; needs root (or sudo) when they are not.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "browser-deps: chromium and chromium-driver are missing and this is not root; install them with apt-get" >&2
        exit 1
    fi
    sudo="sudo"
fi

echo "== installing chromium and chromium-driver (browser tests)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
command -v chromium >/dev/null && command -v chromedriver >/dev/null
