// A flood of first contacts from throw-away keys, all from one source address, far below the
// initiations-per-second cookie threshold: each one is a genuine, authenticated Noise initiation
// whose address binding costs the responder one Argon2id evaluation (~30 ms). The attacker plays
// by the rules (it answers cookie replies and puts mac2 on everything after), so only a budget per
// source address can stop it from taking every verification slot. A legitimate new peer from
// another source (127.0.0.2) must still complete its handshake, and the limited drops are counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { Identity } from '../../src/identity/identity.js';
import { VerifiedBindingCache } from '../../src/identity/derive.js';
import { RemoteStatic, writeInitiation } from '../../src/handshake/messages.js';
import { openCookieReply } from '../../src/handshake/cookie.js';
import { Tai64nClock } from '../../src/handshake/timestamp.js';
import { PACKET_COOKIE_REPLY, PACKET_INITIATION } from '../../src/handshake/wire.js';
import { testKeys, testLocal } from './keys.js';
import { packet, withNodes } from '../node/helpers.js';

/** Sends initiations from fresh keys at a steady rate; takes a cookie when offered and uses it for every later key. */
class Flooder {
  readonly #socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  readonly #target: { port: number };
  readonly #remote: RemoteStatic;
  readonly #clock = new Tai64nClock();
  readonly #mac1s = new Map<number, Buffer>();
  #cookie: Buffer | null = null;
  #timer: NodeJS.Timeout | null = null;
  #index = 1;
  sent = 0;
  cookiesTaken = 0;

  private constructor(target: { port: number }, responderKey: Buffer) {
    this.#target = target;
    this.#remote = RemoteStatic.fromPublicKey(responderKey)!;
    this.#socket.on('message', (m) => {
      if (m.length < 16 || m[1] !== PACKET_COOKIE_REPLY) return;
      const mac1 = this.#mac1s.get(m.readUInt32BE(4));
      if (mac1 === undefined) return;
      const cookie = openCookieReply(m.subarray(16), this.#remote.cookieKey, mac1);
      if (cookie !== null) {
        this.#cookie = cookie; // bound to this source endpoint, not to a key: good for every key
        this.cookiesTaken++;
      }
    });
  }

  static async open(target: { port: number }, responderKey: Buffer, host = '127.0.0.1'): Promise<Flooder> {
    const f = new Flooder(target, responderKey);
    await new Promise<void>((r) => f.#socket.bind(0, host, r));
    return f;
  }

  /** `perTick` new keys every `tickMs`. */
  start(perTick: number, tickMs: number): void {
    this.#timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) this.#sendOne();
    }, tickMs);
  }

  #sendOne(): void {
    const keys = testKeys();
    const index = this.#index++;
    const w = writeInitiation(testLocal(keys), this.#remote, index, {
      rekey: false, aeads: 3, network: 0, nonce: 0, timestamp: this.#clock.next(), publicKey: keys.publicKey,
    }, this.#cookie);
    w.noise.destroy();
    this.#mac1s.set(index, w.mac1);
    if (this.#mac1s.size > 4096) this.#mac1s.delete(this.#mac1s.keys().next().value as number);
    this.#socket.send(packet(PACKET_INITIATION, 0, w.body), this.#target.port, '127.0.0.1');
    this.sent++;
  }

  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#socket.close();
  }
}

test('a flood of new keys from one source does not keep a new peer from another source out', async (t) => {
  const [idb, idLegit] = await Promise.all([Identity.generate(), Identity.generate()]);
  let flooder: Flooder | undefined;
  try {
    await withNodes(async (set) => {
      // Its own binding cache: nothing about the legitimate peer is known in advance.
      const cache = new VerifiedBindingCache();
      const b = await set.open({ identity: idb, bindingCache: cache });
      const legit = await set.open({ identity: idLegit, listen: { host: '127.0.0.2' } });
      flooder = await Flooder.open(b.endpoint, b.publicKey);
      const floodStart = performance.now();
      flooder.start(10, 25); // 400 new keys per second: well under the 1,000/s cookie threshold
      await new Promise((r) => setTimeout(r, 500)); // the flood is in full swing

      const t0 = performance.now();
      const s = await legit.connect(b.publicKey, { endpoint: { address: '127.0.0.1', port: b.endpoint.port }, timeoutMs: 6000 });
      const took = performance.now() - t0;
      assert.ok(s.remoteAddress.equals(b.address));
      // Let the flood go on for a while longer, to see what it gets over time.
      while (performance.now() - floodStart < 1500) await new Promise((r) => setTimeout(r, 50));
      const floodSeconds = (performance.now() - floodStart) / 1000;
      const st = b.stats();
      t.diagnostic(
        `legitimate handshake in ${took.toFixed(0)} ms; flood of ${flooder.sent} keys in ${floodSeconds.toFixed(1)} s; ` +
        `b: ${cache.misses} binding hashes, drops ${JSON.stringify(Object.fromEntries(Object.entries(st.drops).filter(([, v]) => v > 0)))}`,
      );
      assert.equal(st.underLoad, true, 'binding checks put b under load');
      assert.ok(flooder.cookiesTaken >= 1, 'the flood made b demand cookies');
      assert.ok(st.drops.cookieRequired >= 1);
      assert.ok(st.drops.sourceBusy > 0, 'the flooding source was held to its budget');
      // The flooder's hashes are bounded by its budget, whatever it sends: the checks that got in
      // before the load switch (verificationLoadThreshold + 1 = 17, a few more from the same
      // receive batch), one burst (2 × 16) and 16 per second after that; + 1 for the legitimate peer.
      const bound = 17 + 10 + 32 + 16 * floodSeconds + 1;
      assert.ok(cache.misses <= bound, `${cache.misses} hashes for ${flooder.sent} flood keys in ${floodSeconds.toFixed(1)} s (bound ${bound.toFixed(0)})`);
      assert.ok(st.drops.sourceBusy >= flooder.sent / 2, `${st.drops.sourceBusy} of ${flooder.sent} dropped for the source's budget`);
      // Refused initiations leave nothing in the replay guard: one entry per admitted key (+ legit).
      assert.ok(st.replayGuardEntries <= cache.misses + 1, `${st.replayGuardEntries} replay-guard entries for ${cache.misses} hashes`);
      assert.equal(st.handshake.errors, 0);
    });
  } finally {
    flooder?.close();
    idb.destroy();
    idLegit.destroy();
  }
});

// Eight proven sources in eight /24s, each far over its budget: together they would ask for more
// hashes than the thread pool runs (8 × 16/s > ~65/s on two cores) and could hold all 64 slots
// (8 × 8). The global under-load rate (32/s) and the slots kept for newcomers let a new peer from a
// ninth /24 in anyway.
test('floods from eight sources do not keep a new peer from a ninth source out', async (t) => {
  const [idb, idLegit] = await Promise.all([Identity.generate(), Identity.generate()]);
  const flooders: Flooder[] = [];
  try {
    await withNodes(async (set) => {
      const cache = new VerifiedBindingCache();
      const b = await set.open({ identity: idb, bindingCache: cache });
      const legit = await set.open({ identity: idLegit, listen: { host: '127.0.9.2' } });
      for (let i = 1; i <= 8; i++) flooders.push(await Flooder.open(b.endpoint, b.publicKey, `127.0.${i}.1`));
      const floodStart = performance.now();
      for (const f of flooders) f.start(2, 40); // 50 new keys per second each, 400/s in all
      await new Promise((r) => setTimeout(r, 1000));

      const t0 = performance.now();
      const s = await legit.connect(b.publicKey, { endpoint: { address: '127.0.0.1', port: b.endpoint.port }, timeoutMs: 8000 });
      const took = performance.now() - t0;
      assert.ok(s.remoteAddress.equals(b.address));
      const floodSeconds = (performance.now() - floodStart) / 1000;
      const st = b.stats();
      const sent = flooders.reduce((n, f) => n + f.sent, 0);
      t.diagnostic(
        `legitimate handshake in ${took.toFixed(0)} ms; flood of ${sent} keys from 8 sources in ${floodSeconds.toFixed(1)} s; ` +
        `b: ${cache.misses} binding hashes, drops ${JSON.stringify(Object.fromEntries(Object.entries(st.drops).filter(([, v]) => v > 0)))}`,
      );
      assert.equal(st.underLoad, true);
      // The flood's hashes are bounded by the global rate, not by 8 × the per-source one: those that
      // got in off load (~17 and one receive batch), one global burst (32), 32/s; + 1 for the legitimate peer.
      const bound = 17 + 20 + 32 + 32 * floodSeconds + 1;
      assert.ok(cache.misses <= bound, `${cache.misses} hashes in ${floodSeconds.toFixed(1)} s (bound ${bound.toFixed(0)})`);
      assert.ok(st.drops.sourceBusy > st.drops.busy, 'the flood is refused for its own budgets, not as busy');
    });
  } finally {
    for (const f of flooders) f.close();
    idb.destroy();
    idLegit.destroy();
  }
});
