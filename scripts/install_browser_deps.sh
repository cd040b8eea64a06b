#!/usr/bin/env bash
# Install the system browser for the browser smoke tests (tests/browser): Debian's chromium at /usr/bin/chromium.
#
# Idempotent: does nothing when /usr/bin/chromium is already there. Installs only as root with apt-get.
# Never fails (exit 0): if it cannot install, it prints one warning line and the browser tests skip with a
# reason naming this script, so a mirror hiccup does not break the test command.
#
# The Python side (jupyterlab, playwright) comes from the project's `dev` extra. Playwright must NOT download
# its own browser (`playwright install` fails on closed networks): the tests launch /usr/bin/chromium.
set -u

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install_browser_deps.sh: warning: $CHROMIUM is missing and this is not root with apt-get; browser tests will skip" >&2
  exit 0
fi
if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 \
       && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } \
   || [ ! -x "$CHROMIUM" ]; then
  echo "install_browser_deps.sh: warning: could not install chromium with apt-get; browser tests will skip" >&2
  exit 0
fi
exit 0
