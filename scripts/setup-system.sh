#!/usr/bin/env bash
# System packages the test suite uses (real components, as users would have them), plus the
# static PIC libsodium for building the addon from source. Idempotent; uses sudo when not root.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo_cmd=""
if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
need=()
for pkg in build-essential python3 pkg-config redis-server iptables iproute2 coturn stun-client autoconf automake libtool dpkg-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "==> apt-get install ${need[*]}" >&2
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Packaged services must not run on their own: tests start their own instances.
  $sudo_cmd systemctl disable --now redis-server coturn >/dev/null 2>&1 || true
  pkill -x redis-server 2>/dev/null || true
  pkill -x turnserver 2>/dev/null || true
fi
bash scripts/build-libsodium.sh >/dev/null
echo "==> system ready" >&2
