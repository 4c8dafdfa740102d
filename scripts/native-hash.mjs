#!/usr/bin/env node
// Hash of everything that determines the native addon: binding.gyp, native/* and the libsodium
// version and build flavour scripts/build-libsodium.sh pins. The prebuild records it; `--check`
// fails when the committed prebuild was built from other sources.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const HASH_FILE = join(root, 'prebuilds', 'linux-x64', 'SOURCES.sha256');

export function nativeSourceHash() {
  const files = ['binding.gyp', ...readdirSync(join(root, 'native')).sort().map((f) => `native/${f}`)];
  const h = createHash('sha256');
  for (const f of files) {
    h.update(`${f}\0`);
    h.update(readFileSync(join(root, f)));
    h.update('\0');
  }
  const script = readFileSync(join(root, 'scripts', 'build-libsodium.sh'), 'utf8');
  const pinned = /^pinned=(\S+)$/m.exec(script);
  const stamp = /^stamp_of\(\) \{ (.+) \}$/m.exec(script);
  if (!pinned || !stamp) throw new Error('scripts/build-libsodium.sh lacks its pinned= or stamp_of() line');
  h.update(`libsodium ${pinned[1]} ${stamp[1]}\0`);
  return h.digest('hex');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const now = nativeSourceHash();
  if (process.argv[2] === '--check') {
    const recorded = existsSync(HASH_FILE) ? readFileSync(HASH_FILE, 'utf8').trim() : '(none)';
    if (recorded !== now) {
      console.error(`stale prebuild: prebuilds/linux-x64 was built from native sources ${recorded.slice(0, 12)}, ` +
        `the tree has ${now.slice(0, 12)}. Run \`npm run prebuild\` and commit prebuilds/.`);
      process.exit(1);
    }
    console.log(`prebuild is fresh (${now.slice(0, 12)})`);
  } else {
    console.log(now);
  }
}
