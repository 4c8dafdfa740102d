#!/usr/bin/env bash
# Proves a consumer can use the published package with only the prebuild: pack, install the
# tarball with --ignore-scripts into an empty folder (no compiler step can run), import it and
# exchange an encrypted datagram; then, through the public API, two nodes handshake and answer a
# request over a stream, and a CommonJS consumer can require() the package.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
echo "==> packed $tarball" >&2
if tar -tzf "$work/$tarball" | grep -q '^package/build/'; then
  echo "the tarball contains build/: consumers must load the prebuild" >&2
  exit 1
fi
cd "$work"
npm init -y >/dev/null
npm install --ignore-scripts --no-audit --no-fund "./$tarball" >/dev/null
test ! -e node_modules/hubless/build || { echo "build/ exists in the installed package" >&2; exit 1; }
cat > check.mjs <<'JS'
import { Transport, preferredAlgorithm } from 'hubless';
import { randomBytes } from 'node:crypto';
const a = await Transport.open(), b = await Transport.open();
const k1 = randomBytes(32), k2 = randomBytes(32);
const ia = a.reserveSession(), ib = b.reserveSession();
const algorithm = preferredAlgorithm();
a.installSession(ia, { remoteIndex: ib, algorithm, txKey: k1, rxKey: k2, peer: b.address });
b.installSession(ib, { remoteIndex: ia, algorithm, txKey: k2, rxKey: k1, peer: a.address });
const got = new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error('no datagram within 5 s')), 5000);
  b.on('datagrams', (batch) => { clearTimeout(t); resolve(batch.copy(0).toString()); });
});
a.send(ia, 7, 7, [Buffer.from('hello from the prebuild')]);
const text = await got;
a.close(); b.close();
if (text !== 'hello from the prebuild') throw new Error(`wrong payload: ${text}`);
console.log(`consumer ok: ${algorithm} datagram through the prebuild`);
JS
node check.mjs
cat > nodes.mjs <<'JS'
import { createNode, HublessError } from 'hubless';
const a = await createNode({ keyFile: 'a.key', listen: { host: '127.0.0.1', port: 0 } });
const b = await createNode({ keyFile: 'b.key', listen: { host: '127.0.0.1', port: 0 } });
try {
  b.handle(80, (payload) => ({ echo: payload }));
  const session = await a.connect(b.publicKey, { endpoint: b.endpoint });
  const answer = await session.request(80, 'ping', { timeoutMs: 5000 });
  if (answer?.echo !== 'ping') throw new Error(`wrong answer: ${JSON.stringify(answer)}`);
  if (!session.remoteAddress.equals(b.address)) throw new Error('the session reached another address');
  let refused = null;
  try { await session.request(81, 'nobody', { timeoutMs: 5000 }); } catch (err) { refused = err; }
  if (!(refused instanceof HublessError) || refused.code !== 'ERR_HUBLESS_STREAM_REFUSED') {
    throw new Error(`no refusal with a code: ${refused}`);
  }
  console.log(`consumer ok: ${a.address} -> ${b.address}, handshake and request through the public API`);
} finally {
  await a.close();
  await b.close();
}
JS
node nodes.mjs
cat > cjs.cjs <<'JS'
const hubless = require('hubless');
if (typeof hubless.createNode !== 'function') throw new Error('require() gave no createNode');
console.log('consumer ok: require() from CommonJS');
JS
node cjs.cjs
