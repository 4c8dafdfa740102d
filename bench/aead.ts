/**
 * Section "aead": seal/open throughput of the addon's AEADs (libsodium, precomputed key state,
 * 16-byte header as associated data, measured in a native loop: native.aeadThroughput), against
 * node:crypto doing the same per packet from JS with one Cipher/Decipher object per packet.
 * Single-threaded, in the parent process.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type CipherGCMTypes } from 'node:crypto';
import type { BenchOptions } from './lib/args.js';
import { note, status } from './lib/progress.js';
import { settle } from './lib/quiet.js';
import { num, ratio, table, times } from './lib/table.js';
import { native } from '../src/native/binding.js';

const SIZES = [64, 1200, 65536];
const ALGORITHMS = [
  { id: 1, name: 'AES-256-GCM', node: 'aes-256-gcm' },
  { id: 2, name: 'ChaCha20-Poly1305', node: 'chacha20-poly1305' },
] as const;
/** node:crypto runs per case for at most this long per direction, or aeadBytes / 4. */
const JS_SECONDS = 1;

export interface AeadCase {
  algorithm: string;
  size: number;
  native: {
    iterations: number; sealSeconds: number; openSeconds: number; sealMBps: number; openMBps: number;
    /** CPU time / wall time of the process during the native loop: below ~0.95 it was preempted. */
    cpuShare: number;
  } | null;
  nodeCrypto: { sealIterations: number; openIterations: number; sealMBps: number; openMBps: number };
  sealRatio: number | null;
  openRatio: number | null;
}

export interface AeadSection {
  bytesPerCase: number;
  settle: { waitedSeconds: number; loadPercent: number } | null;
  cases: AeadCase[];
  notes: string[];
}

function nodeCrypto(algo: string, size: number, maxBytes: number): AeadCase['nodeCrypto'] {
  const key = createSecretKey(randomBytes(32));
  const nonce = Buffer.alloc(12);
  const ad = Buffer.alloc(16, 0xc1);
  const plain = randomBytes(size);
  const maxIters = Math.max(1, Math.floor(maxBytes / size));
  const run = (op: (i: number) => void): { iters: number; seconds: number } => {
    const t0 = performance.now();
    let i = 0;
    while (i < maxIters) {
      op(i++);
      if ((i & 63) === 0 && performance.now() - t0 > JS_SECONDS * 1000) break;
    }
    return { iters: i, seconds: (performance.now() - t0) / 1000 };
  };
  let tag = Buffer.alloc(16);
  let ct = Buffer.alloc(0);
  const seal = run((i) => {
    nonce.writeUInt32BE(i, 8);
    const c = createCipheriv(algo as CipherGCMTypes, key, nonce, { authTagLength: 16 });
    c.setAAD(ad);
    ct = c.update(plain);
    c.final();
    tag = c.getAuthTag();
  });
  const lastNonce = Buffer.from(nonce);
  let ok = true;
  const open = run(() => {
    const d = createDecipheriv(algo as CipherGCMTypes, key, lastNonce, { authTagLength: 16 });
    d.setAAD(ad);
    d.setAuthTag(tag);
    d.update(ct);
    try {
      d.final();
    } catch {
      ok = false;
    }
  });
  if (!ok) throw new Error(`node:crypto ${algo} failed to open its own packet`);
  return {
    sealIterations: seal.iters,
    openIterations: open.iters,
    sealMBps: (seal.iters * size) / seal.seconds / 1e6,
    openMBps: (open.iters * size) / open.seconds / 1e6,
  };
}

export async function runAead(opts: BenchOptions): Promise<AeadSection> {
  const notes: string[] = [];
  const cases: AeadCase[] = [];
  const quiet = opts.settle > 0 ? await settle('[aead]', opts.settle) : null;
  note(`[aead] ${num(opts.aeadBytes / 1e6, 0)} MB per case in the native loop; node:crypto up to ${JS_SECONDS} s per direction`);
  for (const a of ALGORITHMS) {
    const available = a.id !== 1 || native.constants.aesGcmAvailable;
    if (!available) notes.push(`${a.name}: not available on this CPU in libsodium`);
    for (const size of SIZES) {
      status(`[aead] ${a.name} ${size} B: native`);
      await new Promise((r) => setImmediate(r)); // let the status line out
      let nat: AeadCase['native'] = null;
      if (available) {
        const c0 = process.cpuUsage();
        const w0 = performance.now();
        const r = native.aeadThroughput(a.id, size, opts.aeadBytes);
        const wall = performance.now() - w0;
        const c = process.cpuUsage(c0);
        nat = {
          ...r,
          cpuShare: (c.user + c.system) / 1000 / wall,
          sealMBps: (r.iterations * size) / r.sealSeconds / 1e6,
          openMBps: (r.iterations * size) / r.openSeconds / 1e6,
        };
      }
      status(`[aead] ${a.name} ${size} B: node:crypto`);
      await new Promise((r) => setImmediate(r));
      const js = nodeCrypto(a.node, size, opts.aeadBytes / 4);
      cases.push({
        algorithm: a.name,
        size,
        native: nat,
        nodeCrypto: js,
        sealRatio: ratio(nat?.sealMBps, js.sealMBps),
        openRatio: ratio(nat?.openMBps, js.openMBps),
      });
    }
  }
  note('[aead] done');
  return { bytesPerCase: opts.aeadBytes, settle: quiet, cases, notes };
}

export function formatAead(s: AeadSection): string {
  const header = [
    'algorithm', 'size', 'hubless seal MB/s', 'hubless open MB/s', 'node:crypto seal MB/s', 'node:crypto open MB/s',
    'seal hubless/node', 'open hubless/node',
  ];
  const rows = s.cases.map((c) => [
    c.algorithm,
    c.size % 1024 === 0 ? `${c.size / 1024} KiB` : `${c.size} B`,
    num(c.native?.sealMBps, 0),
    num(c.native?.openMBps, 0),
    num(c.nodeCrypto.sealMBps, 0),
    num(c.nodeCrypto.openMBps, 0),
    times(c.sealRatio),
    times(c.openRatio),
  ]);
  const preempted = s.cases.filter((c) => c.native !== null && c.native.cpuShare < 0.95)
    .map((c) => `${c.algorithm} ${c.size} B: the process had the CPU ${num(c.native!.cpuShare * 100, 0)}% of the time (other load); figures low`);
  return [
    'AEAD, one core: hubless = libsodium in the addon, native loop, precomputed key state, 16-byte AD;',
    'node:crypto = one Cipher/Decipher object per packet from JS, same AD. MB = 10^6 bytes of plaintext.',
    table(header, rows),
    ...s.notes,
    ...preempted,
  ].join('\n');
}
