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

# The version the prebuild is built and measured with (part of its source hash). Should Debian
# unstable no longer carry it, a from-source build takes unstable's version and says so; a
# prebuild (HUBLESS_SODIUM_STRICT=1, set by scripts/prebuild.sh) refuses to.
pinned=1.0.22
suite=${HUBLESS_SODIUM_SUITE:-sid}
strict=${HUBLESS_SODIUM_STRICT:-0}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/hubless

# libsodium's own CFLAGS (-O3 ...) matter: overriding them with -O2 halves AES-256-GCM's speed.
# The stamp names the version and the way it was built; an archive without it is rebuilt.
stamp_of() { echo "libsodium $1; configure --with-pic --disable-shared --enable-static, libsodium's own CFLAGS"; }
stamped() { [ -f "$1/lib/libsodium.a" ] && [ -f "$1/include/sodium.h" ] && [ -f "$1/hubless-build" ]; }
cached() { stamped "$1" && [ "$(cat "$1/hubless-build")" = "$(stamp_of "$2")" ]; }
done_at() { echo "libsodium $2 (PIC, static) ${3:-already built} at $1" >&2; echo "$1"; exit 0; }

if [ -n "${HUBLESS_SODIUM_PREFIX:-}" ]; then
  if stamped "$HUBLESS_SODIUM_PREFIX"; then
    have=$(sed -n 's/^libsodium \([0-9.]*\);.*/\1/p' "$HUBLESS_SODIUM_PREFIX/hubless-build")
    if [ -n "$have" ] && cached "$HUBLESS_SODIUM_PREFIX" "$have" && { [ "$have" = "$pinned" ] || [ "$strict" != 1 ]; }; then
      done_at "$HUBLESS_SODIUM_PREFIX" "$have"
    fi
  elif [ -e "$HUBLESS_SODIUM_PREFIX" ] && [ -n "$(ls -A "$HUBLESS_SODIUM_PREFIX" 2>/dev/null)" ]; then
    echo "HUBLESS_SODIUM_PREFIX=$HUBLESS_SODIUM_PREFIX is not empty and holds no libsodium built by this script;" \
      "name an empty or new directory" >&2
    exit 1
  fi
elif cached "$cache/libsodium-$pinned" "$pinned"; then
  done_at "$cache/libsodium-$pinned" "$pinned" "already cached"
fi

sudo_cmd=""
if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi

if ! command -v autoreconf >/dev/null || ! command -v libtoolize >/dev/null || ! command -v dpkg-source >/dev/null ||
   [ ! -f /usr/share/keyrings/debian-archive-keyring.gpg ]; then
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
# apt-get update only warns when a source cannot be fetched or verified; the list must be there.
apt-get "${apt_opts[@]}" update -qq >&2 || true
if ! ls "$work/lists/"*_source_Sources* >/dev/null 2>&1; then
  echo "cannot fetch or verify Debian $suite's source index from $mirror (network, or a signing key" \
    "debian-archive-keyring does not have yet)" >&2
  exit 1
fi
versions=$(apt-cache "${apt_opts[@]}" showsrc libsodium 2>/dev/null | sed -n 's/^Version: //p')
want=$(echo "$versions" | grep -m1 -E "^([0-9]+:)?${pinned//./\\.}-" || true)
if [ -z "$want" ]; then
  newest=$(echo "$versions" | head -n 1)
  [ -n "$newest" ] || { echo "Debian $suite has no libsodium source package" >&2; exit 1; }
  if [ "$strict" = 1 ]; then
    echo "Debian $suite no longer carries libsodium $pinned (it has $newest): set pinned= in" \
      "scripts/build-libsodium.sh to its version, rebuild the prebuild and re-measure" >&2
    exit 1
  fi
  echo "==> NOTE: Debian $suite no longer carries libsodium $pinned; building its $newest instead" \
    "(the prebuild stays on $pinned)" >&2
  want=$newest
fi
(cd "$work/src" && apt-get "${apt_opts[@]}" source -qq "libsodium=$want" >&2)
src=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name 'libsodium-*' -print -quit)
[ -n "$src" ] || { echo "apt-get source libsodium=$want produced no source tree" >&2; exit 1; }
version=$(grep -m1 -oE 'AC_INIT\(\[libsodium\],\[[0-9.]+' "$src/configure.ac" | grep -oE '[0-9.]+$' || true)
[ -n "$version" ] || { echo "cannot tell the libsodium version of $src" >&2; exit 1; }
prefix=${HUBLESS_SODIUM_PREFIX:-$cache/libsodium-$version}
if cached "$prefix" "$version"; then done_at "$prefix" "$version" "already cached"; fi

echo "==> configuring libsodium $version (--with-pic --disable-shared --enable-static)" >&2
cd "$src"
[ -x configure ] || ./autogen.sh -s >/dev/null 2>&1 || ./autogen.sh >&2
./configure --quiet --with-pic --disable-shared --enable-static --prefix="$prefix" >&2
echo "==> building libsodium $version" >&2
make -s -j"$(nproc)" >&2
# Staged, then moved into place: a half-installed prefix never looks usable, and nothing but a
# directory this script built (stamped) or an empty one is ever replaced.
make -s install DESTDIR="$work/stage" >/dev/null
stamp_of "$version" > "$work/stage$prefix/hubless-build"
if [ -e "$prefix" ]; then
  if stamped "$prefix" || [ -z "$(ls -A "$prefix")" ]; then rm -rf "$prefix"; else
    echo "$prefix exists and was not built by this script; not replacing it" >&2; exit 1
  fi
fi
mkdir -p "$(dirname "$prefix")"
mv "$work/stage$prefix" "$prefix"
done_at "$prefix" "$version" "installed"
