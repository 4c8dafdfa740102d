#!/usr/bin/env bash
# Builds a position-independent static libsodium from Debian's own source package and caches it
# outside the repository, keyed by version. Debian's libsodium.a is not PIC and cannot be linked
# into a shared object (see DESIGN.md, "Facts verified on this machine").
#
# Output: $HUBLESS_SODIUM_PREFIX (default ~/.cache/hubless/libsodium-<version>) with
# include/ and lib/libsodium.a. Prints the prefix on the last line of stdout.
set -euo pipefail

version=1.0.18
prefix=${HUBLESS_SODIUM_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/hubless/libsodium-$version}

if [ -f "$prefix/lib/libsodium.a" ] && [ -f "$prefix/include/sodium.h" ]; then
  echo "libsodium $version (PIC, static) already cached at $prefix" >&2
  echo "$prefix"
  exit 0
fi

sudo_cmd=""
if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi

echo "==> installing build tools for libsodium (autoconf, automake, libtool)" >&2
if ! grep -rqs '^Types: deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
  # Mirror the configured Debian sources as deb-src so that `apt-get source` works.
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    sed 's/^Types: deb$/Types: deb-src/' "$f" | $sudo_cmd tee "/etc/apt/sources.list.d/hubless-src-$(basename "$f")" >/dev/null
  done
fi
$sudo_cmd apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq dpkg-dev autoconf automake libtool make gcc >&2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "==> fetching Debian's libsodium source package" >&2
(cd "$work" && apt-get source -qq libsodium >&2)
src=$(find "$work" -maxdepth 1 -type d -name 'libsodium-*' | head -n 1)
[ -n "$src" ] || { echo "apt-get source libsodium produced no source tree" >&2; exit 1; }

echo "==> configuring (--with-pic --disable-shared --enable-static)" >&2
cd "$src"
./autogen.sh -s >/dev/null 2>&1 || ./autogen.sh >&2
CFLAGS="-O2 -fPIC" ./configure --quiet --with-pic --disable-shared --enable-static --prefix="$prefix" >&2
echo "==> building libsodium $version" >&2
make -s -j"$(nproc)" >&2
make -s install >&2
echo "libsodium $version (PIC, static) installed at $prefix" >&2
echo "$prefix"
