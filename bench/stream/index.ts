/**
 * Section "stream" (issue 4, item 5): reliable streams between two processes, hubless against
 * udx-native, hyperdht, js-libp2p and node:net TCP, in one run. Four parts (--stream-parts):
 * bulk (one stream over loopback), loss (a veth pair between two namespaces, clean then lossy),
 * parallel (16 streams on one session), idle (memory per open idle stream). Each throughput run
 * waits for a quiet machine first and is repeated when other processes disturbed it, while the
 * section's time budget allows.
 */
import type { BenchOptions } from '../lib/args.js';
import type { Machine } from '../lib/machine.js';
import { note } from '../lib/progress.js';
import { QUIET_PERCENT, settle } from '../lib/quiet.js';
import { num } from '../lib/table.js';
import { runIdleStreams, type IdleResult } from './idle.js';
import { createLossyLink, netnsUnavailable, RECEIVER_ADDRESS, SENDER_ADDRESS, type LossyLink } from './netns.js';
import { runThroughput, type RunResult, type RunSpec } from './throughput.js';

/** Past these, disturbed runs are not repeated and runs do not wait for a quiet machine (the section should stay within ~4 minutes). */
const RETRY_BUDGET_SECONDS = 100;
const SETTLE_BUDGET_SECONDS = 150;
/** Longest wait for a quiet machine before one run. */
const SETTLE_SECONDS = 5;
/** Peers with one connection per stream are left out of the parallel and idle parts. */
const MUXED_PARTS_SKIP = new Set(['hyperdht']);
const IDLE_PEERS = ['hubless', 'udx', 'tcp'];

export interface LossPair {
  peer: string;
  clean: RunResult | null;
  lossy: RunResult | null;
  /** lossy / clean goodput. */
  retained: number | null;
}

export interface StreamSection {
  seconds: number;
  warmupSeconds: number;
  pinned: boolean;
  bulk: RunResult[];
  loss: {
    method: 'netns' | 'hubless-fault-knob' | null;
    loss: number;
    note: string | null;
    pairs: LossPair[];
  } | null;
  parallel: RunResult[];
  idle: IdleResult[];
  errors: { part: string; peer: string; message: string }[];
  notes: string[];
}

export async function runStream(opts: BenchOptions, machine: Machine): Promise<StreamSection> {
  const pin = opts.pin && machine.taskset;
  const t0 = performance.now();
  const out: StreamSection = {
    seconds: opts.streamSeconds, warmupSeconds: opts.streamWarmup, pinned: pin,
    bulk: [], loss: null, parallel: [], idle: [], errors: [], notes: [],
  };
  out.notes.push(pin ? 'senders pinned to CPU 0, receivers to CPU 1' : 'processes not pinned');
  const parts = new Set(opts.streamParts);

  // One run, after a quiet machine; repeated while disturbed and the budget allows. A failing
  // run is recorded and the others go on.
  const measure = async (part: string, spec: Omit<RunSpec, 'warmupSeconds' | 'seconds' | 'pin' | 'label'>, tag: string): Promise<RunResult | null> => {
    const label = `[stream] ${part} ${tag}`;
    try {
      let best: RunResult | null = null;
      for (let attempt = 0; attempt <= opts.retries; attempt++) {
        const spent = (performance.now() - t0) / 1000;
        if (attempt > 0 && spent > RETRY_BUDGET_SECONDS) break;
        if (attempt > 0) note(`${label}: disturbed by other processes, running it again`);
        if (opts.settle > 0 && spent < SETTLE_BUDGET_SECONDS) await settle(label, Math.min(opts.settle, SETTLE_SECONDS));
        const r = await runThroughput({ ...spec, warmupSeconds: opts.streamWarmup, seconds: opts.streamSeconds, pin, label });
        // Other load only ever slows a run down: the fastest attempt is the least disturbed.
        if (best === null || r.goodputMBps > best.goodputMBps) best = r;
        if (r.otherCpuPercent < QUIET_PERCENT) break;
      }
      note(`${label}: ${num(best!.goodputMBps)} MB/s` + (best!.otherCpuPercent >= QUIET_PERCENT ? ` (other processes used ${num(best!.otherCpuPercent, 0)}% of a core)` : ''));
      return best;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      note(`${label} failed: ${message}`);
      out.errors.push({ part, peer: spec.peer, message });
      return null;
    }
  };

  if (parts.has('bulk')) {
    for (const peer of opts.streamPeers) {
      const r = await measure('bulk', { peer, streams: 1, link: null }, peer);
      if (r) out.bulk.push(r);
    }
  }

  if (parts.has('loss')) {
    const why = netnsUnavailable();
    const loss = opts.streamLoss;
    if (why === null) {
      out.loss = { method: 'netns', loss, note: null, pairs: [] };
      let link: LossyLink | null = null;
      try {
        link = createLossyLink();
        const on = { link, senderHost: SENDER_ADDRESS, receiverHost: RECEIVER_ADDRESS };
        for (const peer of opts.streamPeers) {
          link.setLoss(0);
          const clean = await measure('veth', { peer, streams: 1, link: on }, peer);
          link.setLoss(loss);
          const lossy = await measure(`${num(loss * 100, 1)}% loss`, { peer, streams: 1, link: on }, peer);
          out.loss.pairs.push({ peer, clean, lossy, retained: clean && lossy ? lossy.goodputMBps / clean.goodputMBps : null });
        }
      } catch (e) {
        out.loss.note = e instanceof Error ? e.message : String(e);
        note(`[stream] loss: ${out.loss.note}`);
      } finally {
        link?.close();
      }
    } else {
      // No namespaces here: hubless alone, with its test-only fault knob, over loopback.
      const msg = `${why}: only hubless measured at loss, with its test-only fault knob (setFaults) on loopback`;
      note(`[stream] loss: ${msg}`);
      out.loss = { method: 'hubless-fault-knob', loss, note: msg, pairs: [] };
      if (opts.streamPeers.includes('hubless')) {
        const clean = out.bulk.find((r) => r.peer === 'hubless') ?? await measure('bulk', { peer: 'hubless', streams: 1, link: null }, 'hubless');
        const lossy = await measure('fault-knob loss', { peer: 'hubless', streams: 1, link: null, faultLoss: loss }, 'hubless');
        out.loss.pairs.push({ peer: 'hubless', clean, lossy, retained: clean && lossy ? lossy.goodputMBps / clean.goodputMBps : null });
      }
    }
  }

  if (parts.has('parallel')) {
    for (const peer of opts.streamPeers.filter((p) => !MUXED_PARTS_SKIP.has(p))) {
      const r = await measure('parallel', { peer, streams: opts.streamParallel, link: null }, `${peer} x${opts.streamParallel}`);
      if (r) out.parallel.push(r);
    }
  }

  if (parts.has('idle')) {
    for (const peer of opts.streamPeers.filter((p) => IDLE_PEERS.includes(p))) {
      try {
        const r = await runIdleStreams(peer, opts.idleStreams);
        note(`[stream] idle ${peer}: ${r.received}/${r.streams} streams, ${num(r.sender.perStream.heapUsed + r.sender.perStream.external + r.sender.perStream.native, 0)} B per stream (opener)`);
        out.idle.push(r);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        note(`[stream] idle ${peer} failed: ${message}`);
        out.errors.push({ part: 'idle', peer, message });
      }
    }
  }
  note(`[stream] done in ${num((performance.now() - t0) / 1000, 0)} s`);
  return out;
}
