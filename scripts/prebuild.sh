#!/usr/bin/env bash
# Builds prebuilds/linux-x64 with prebuildify (N-API, stripped) against a static, PIC libsodium,
# refuses a binary that links libsodium dynamically, and records the native sources' hash.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(HUBLESS_SODIUM_STRICT=1 bash scripts/build-libsodium.sh | tail -n 1)
export HUBLESS_SODIUM_PREFIX="$prefix" HUBLESS_REQUIRE_STATIC_SODIUM=1
echo "==> prebuildify --napi --strip (libsodium from $prefix)" >&2
npx prebuildify --napi --strip
bin=$(ls prebuilds/linux-x64/*.node)
if readelf -d "$bin" | grep -q 'libsodium'; then
  echo "prebuild $bin links libsodium dynamically; refusing it" >&2
  exit 1
fi
node scripts/native-hash.mjs > prebuilds/linux-x64/SOURCES.sha256
echo "==> $bin ($(stat -c %s "$bin") bytes), sources $(cut -c1-12 prebuilds/linux-x64/SOURCES.sha256)" >&2
