/**
 * One side (sender or receiver) of one stream peer, in its own process: argv[2] is
 * `{role, peer, host, peerHost, maxStreams, label, watchdogSeconds}`. Requests from the parent
 * (see session/child-lib.ts for the protocol):
 *   both:     setup {peerInfo, txKey, rxKey}, mark → {bytes, cpu, at}, memory, stats
 *   receiver: accept {n}                          (before the sender opens n streams)
 *   sender:   open {n}, start (pump every stream until stop), stop, poke (1 byte per stream)
 * The receiver reports its byte count as progress every 500 ms.
 */
import { serve, settledMemory, tick, type Handler } from '../session/child-lib.js';
import { PEERS } from './peers/index.js';
import { CHUNK, RxCounter, chunkAt, type PeerConfig, type ReceiverSide, type SenderSide, type Setup, type Sink } from './types.js';

const cfg = JSON.parse(process.argv[2] ?? '{}') as PeerConfig & { label: string; watchdogSeconds: number };

/** Writes the pattern to every sink, as fast as each one's backpressure allows. */
class Pump {
  written = 0;
  #running = false;
  #sinks: { sink: Sink; offset: number }[] = [];

  add(sinks: Sink[]): void {
    for (const sink of sinks) this.#sinks.push({ sink, offset: 0 });
  }

  start(): void {
    this.#running = true;
    for (const s of this.#sinks) this.#run(s);
  }

  stop(): void {
    this.#running = false;
  }

  /** One byte on each stream (the idle part: every stream carries data, so both ends hold it). */
  poke(): void {
    for (const s of this.#sinks) {
      s.sink.write(chunkAt(s.offset).subarray(0, 1));
      s.offset++;
    }
  }

  #run(s: { sink: Sink; offset: number }): void {
    // Yield to the event loop now and then even if the stream keeps accepting (IPC, acks).
    for (let n = 0; this.#running; n++) {
      const c = chunkAt(s.offset);
      s.offset += CHUNK;
      this.written += CHUNK;
      if (!s.sink.write(c)) {
        s.sink.onceDrain(() => this.#run(s));
        return;
      }
      if (n >= 32) {
        setImmediate(() => this.#run(s));
        return;
      }
    }
  }
}

async function setup(): Promise<{ ready: Record<string, unknown>; handlers: Record<string, Handler>; close: () => Promise<void> }> {
  const peer = PEERS[cfg.peer];
  if (peer === undefined) throw new Error(`unknown peer ${cfg.peer}`);
  const rx = new RxCounter();
  const pump = new Pump();
  const side: SenderSide | ReceiverSide = cfg.role === 'sender' ? await peer.openSender(cfg) : await peer.openReceiver(cfg, rx);
  const t0 = performance.now();
  if (cfg.role === 'receiver') {
    setInterval(() => tick(`${cfg.label}: ${(rx.bytes / 1e6).toFixed(0)} MB received`), 500).unref();
  }
  const handlers: Record<string, Handler> = {
    setup: async (m) => {
      await side.setup(m as unknown as Setup);
      return {};
    },
    accept: async (m) => {
      await (side as ReceiverSide).accept?.(Number(m.n));
      return {};
    },
    open: async (m) => {
      const t = performance.now();
      pump.add(await (side as SenderSide).open(Number(m.n)));
      return { openMs: performance.now() - t };
    },
    start: () => {
      pump.start();
      return {};
    },
    stop: () => {
      pump.stop();
      return { written: pump.written };
    },
    poke: () => {
      pump.poke();
      return {};
    },
    mark: () => {
      const u = process.cpuUsage();
      return {
        at: performance.now() - t0, bytes: rx.bytes, written: pump.written, streams: rx.streams,
        mismatches: rx.mismatches, cpu: { userMs: u.user / 1000, systemMs: u.system / 1000 },
      };
    },
    memory: async () => ({ memory: await settledMemory() }),
    stats: () => ({ stats: side.stats() }),
  };
  return { ready: { info: side.info }, handlers, close: async () => { await side.close(); } };
}

serve(`stream ${cfg.peer}/${cfg.role}`, cfg.watchdogSeconds, setup);
