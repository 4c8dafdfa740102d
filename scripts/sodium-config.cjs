#!/usr/bin/env node
// Tells binding.gyp how to link libsodium. Preference order:
//  1. a PIC static archive built by scripts/build-libsodium.sh (HUBLESS_SODIUM_PREFIX or the cache);
//  2. the system libsodium, linked dynamically (from-source builds only; said loudly on stderr);
// HUBLESS_REQUIRE_STATIC_SODIUM=1 (set by the prebuild) forbids 2.
'use strict';
const { existsSync, readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { homedir } = require('node:os');
const { execFileSync } = require('node:child_process');

const mode = process.argv[2];
const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'hubless');
const prefix = process.env.HUBLESS_SODIUM_PREFIX || cachedPrefix();

// The archive build-libsodium.sh pins if it built it (stamped), else the newest stamped one it
// left in the cache (keyed by version). Unstamped directories may be half-installed: never used.
function cachedPrefix() {
  const script = readFileSync(join(__dirname, 'build-libsodium.sh'), 'utf8');
  const pinned = /^pinned=(\S+)$/m.exec(script)?.[1];
  const stamped = (dir) => existsSync(join(dir, 'hubless-build'));
  if (pinned && stamped(join(cache, `libsodium-${pinned}`))) return join(cache, `libsodium-${pinned}`);
  let names = [];
  try { names = readdirSync(cache).filter((n) => /^libsodium-\d+(\.\d+)*$/.test(n) && stamped(join(cache, n))); } catch { /* no cache yet */ }
  const key = (n) => n.slice('libsodium-'.length).split('.').map(Number);
  names.sort((a, b) => {
    const x = key(a), y = key(b);
    for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) - (y[i] || 0);
    return 0;
  });
  return names.length ? join(cache, names[names.length - 1]) : join(cache, 'libsodium-none');
}

function fail(msg) {
  process.stderr.write(`\nhubless: ${msg}\n` +
    '  Build a static, position-independent libsodium with: bash scripts/build-libsodium.sh\n' +
    '  (or, for a from-source build only: apt-get install libsodium-dev pkg-config)\n\n');
  process.exit(1);
}

if (existsSync(join(prefix, 'lib', 'libsodium.a')) && existsSync(join(prefix, 'include', 'sodium.h'))) {
  if (mode === '--include') console.log(join(prefix, 'include'));
  else if (mode === '--libs') console.log(join(prefix, 'lib', 'libsodium.a'));
  else console.log('static');
  process.exit(0);
}
if (process.env.HUBLESS_REQUIRE_STATIC_SODIUM === '1') {
  fail(`no static libsodium at ${prefix} and HUBLESS_REQUIRE_STATIC_SODIUM=1 (prebuilds never link it dynamically).`);
}
let cflags, libs;
try {
  cflags = execFileSync('pkg-config', ['--cflags-only-I', 'libsodium'], { encoding: 'utf8' }).trim();
  libs = execFileSync('pkg-config', ['--libs', 'libsodium'], { encoding: 'utf8' }).trim();
} catch {
  fail('libsodium not found.');
}
if (mode === '--include') console.log(cflags.replace(/^-I/, '').split(/\s+-I/).join(' ') || '/usr/include');
else if (mode === '--libs') {
  process.stderr.write('hubless: WARNING: linking the system libsodium DYNAMICALLY (no static PIC archive found); ' +
    'fine for a local build, never for a prebuild.\n');
  console.log(libs);
} else console.log('dynamic');
