#!/usr/bin/env bash
# Builds a position-independent static libsodium from Debian's own source package and caches it
# outside the repository, keyed by version. Debian's libsodium.a is not PIC and cannot be linked
# into a shared object (see DESIGN.md, "Facts verified on this machine").
#
# The source comes from Debian unstable, not from the machine's release: bookworm carries 1.0.18,
# whose AES-256-GCM opens 1200-byte packets at ~1.4 GB/s on one core here; the rewritten one in
# 1.0.19+ does ~3.4 GB/s, and the receiver's decryption is the datagram path's ceiling. apt
# fetches it with a private source list and state directory (signatures checked against
# debian-archive-keyring as for any apt source; the system's apt configuration is untouched).
#
# Output: $HUBLESS_SODIUM_PREFIX (default ~/.cache/hubless/libsodium-<version>) with
# include/ and lib/libsodium.a. Prints the prefix on the last line of stdout.
set -euo pipefail

# The version the prebuild is built and measured with. When unstable has moved on, its version is
# taken instead (said on stderr) rather than failing a fresh machine's build.
pinned=1.0.22
suite=${HUBLESS_SODIUM_SUITE:-sid}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/hubless

# libsodium's own CFLAGS (-O3 ...) matter: overriding them with -O2 halves AES-256-GCM's speed.
# The stamp tells an archive built this way from one built by an older version of this script.
stamp="configure --with-pic --disable-shared --enable-static, libsodium's own CFLAGS"
cached() { [ -f "$1/lib/libsodium.a" ] && [ -f "$1/include/sodium.h" ] && [ "$(cat "$1/hubless-build" 2>/dev/null)" = "$stamp" ]; }

if [ -n "${HUBLESS_SODIUM_PREFIX:-}" ] && cached "$HUBLESS_SODIUM_PREFIX"; then
  echo "libsodium (PIC, static) already built at $HUBLESS_SODIUM_PREFIX" >&2
  echo "$HUBLESS_SODIUM_PREFIX"
  exit 0
fi
if [ -z "${HUBLESS_SODIUM_PREFIX:-}" ] && cached "$cache/libsodium-$pinned"; then
  echo "libsodium $pinned (PIC, static) already cached at $cache/libsodium-$pinned" >&2
  echo "$cache/libsodium-$pinned"
  exit 0
fi

sudo_cmd=""
if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi

if ! command -v autoreconf >/dev/null || ! command -v libtoolize >/dev/null || ! command -v dpkg-source >/dev/null; then
  echo "==> installing build tools for libsodium (autoconf, automake, libtool, dpkg-dev)" >&2
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq dpkg-dev autoconf automake libtool make gcc debian-archive-keyring >&2
fi

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
  awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) { print $i; exit } }' || true)
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/src"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror%/} $suite main" > "$work/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=$work/none"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=root")

echo "==> fetching Debian's libsodium source package ($suite, from $mirror)" >&2
apt-get "${apt_opts[@]}" update -qq >&2
(cd "$work/src" && apt-get "${apt_opts[@]}" source -qq libsodium >&2)
src=$(find "$work/src" -maxdepth 1 -type d -name 'libsodium-*' | head -n 1)
[ -n "$src" ] || { echo "apt-get source libsodium produced no source tree" >&2; exit 1; }
version=$(grep -m1 -oE 'AC_INIT\(\[libsodium\],\[[0-9.]+' "$src/configure.ac" | grep -oE '[0-9.]+$' || true)
[ -n "$version" ] || { echo "cannot tell the libsodium version of $src" >&2; exit 1; }
if [ "$version" != "$pinned" ]; then
  echo "==> NOTE: Debian $suite carries libsodium $version, not $pinned; building $version" >&2
fi
prefix=${HUBLESS_SODIUM_PREFIX:-$cache/libsodium-$version}
if cached "$prefix"; then
  echo "libsodium $version (PIC, static) already cached at $prefix" >&2
  echo "$prefix"
  exit 0
fi

echo "==> configuring libsodium $version (--with-pic --disable-shared --enable-static)" >&2
cd "$src"
[ -x configure ] || ./autogen.sh -s >/dev/null 2>&1 || ./autogen.sh >&2
rm -rf "$prefix"
./configure --quiet --with-pic --disable-shared --enable-static --prefix="$prefix" >&2
echo "==> building libsodium $version" >&2
make -s -j"$(nproc)" >&2
make -s install >/dev/null
echo "$stamp" > "$prefix/hubless-build"
echo "libsodium $version (PIC, static) installed at $prefix" >&2
echo "$prefix"
