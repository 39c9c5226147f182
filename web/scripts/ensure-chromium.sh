#!/usr/bin/env bash
# Makes sure Debian's chromium is installed for the browser tests (playwright-core drives it; npm
# never downloads a browser here). Installs it with apt when missing and we are root; otherwise says
# how. CHROMIUM_PATH overrides the binary.
set -euo pipefail
bin="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$bin" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "web: $bin is missing; install it with: sudo apt-get install -y --no-install-recommends chromium" >&2
	exit 1
fi
echo "web: installing Debian's chromium for the browser tests (apt-get, once)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends: without it apt also upgrades systemd and more.
apt-get install -y -qq --no-install-recommends chromium >/dev/null
[ -x "$bin" ] || { echo "web: chromium installed but $bin is not there" >&2; exit 1; }
