#!/usr/bin/env bash
# Headless Chromium for the browser test (test/browser): Debian's own package, installed when
# missing. Needs root (or sudo) and Debian's package archive; says so clearly otherwise.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
echo "Chromium is missing: installing Debian's chromium package for the browser test"
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "cannot install chromium: not root and no sudo (apt-get install chromium)" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "chromium did not install" >&2; exit 1; }
echo "chromium installed: $(chromium --version 2>/dev/null || true)"
