#!/usr/bin/env bash
# Builds the prebuild from the tracked native sources plus the given changed files only, in a
# temporary worktree, so untracked work in progress in native/ never leaks into a committed binary.
# Usage: bash scripts/prebuild-clean.sh native/a.cc native/a.h ...
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
wt=$(mktemp -d)
trap 'git -C "$top" worktree remove --force "$wt" >/dev/null 2>&1 || rm -rf "$wt"' EXIT
git worktree add -q --detach "$wt" HEAD
for f in "$@"; do cp "$f" "$wt/$f"; done
ln -s "$top/node_modules" "$wt/node_modules"
(cd "$wt" && bash scripts/prebuild.sh >/dev/null 2>&1 && node scripts/native-hash.mjs --check)
rm -rf "$top/prebuilds/linux-x64"
cp -r "$wt/prebuilds/linux-x64" "$top/prebuilds/"
