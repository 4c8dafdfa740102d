/**
 * 64-byte request/response children: an echo server and a client that sends one request, waits
 * for its echo, and sends the next (one in flight), for `warmup` + `count` round trips. The time
 * of a round trip is from just before the send call to the reply's callback, in the client.
 *
 * Peers:
 * - hubless: a session between two nodes; the server echoes with
 *   `node.listen(7, (msg) => msg.session.send(msg.srcPort, msg.data, { srcPort: 7 }))` and the client
 *   sends with `session.send(7, data, { srcPort: 7 })` and listens to `session.on('message')`.
 *   Encrypted (AES-256-GCM where the CPU has it) both ways.
 * - node:dgram: plain; the server echoes to the sender's address, the client's socket is connect()ed.
 * - udx-native: plain datagrams; `socket.trySend()` both ways, `on('message')`.
 * Every reply is compared byte for byte with the request (a sequence number and filler).
 */
import dgram from 'node:dgram';
import UDX from 'udx-native';
import { createNode, type Node } from '../../../src/node/node.js';
import { cpuSince, generateIdentities, summarize, tick, type CpuMs, type Handler } from '../child-lib.js';

const HOST = '127.0.0.1';
const PORT = 7;
export const RTT_PAYLOAD = 64;

interface UdxSocket {
  bind(port: number, host: string): void;
  address(): { host: string; port: number };
  trySend(b: Buffer, port: number, host: string): void;
  on(event: 'message', fn: (msg: Buffer, rinfo: { host: string; port: number }) => void): void;
  close(): Promise<void>;
}

function udxSocket(): UdxSocket {
  const udx = new (UDX as unknown as new () => { createSocket(): UdxSocket })();
  const s = udx.createSocket();
  s.bind(0, HOST);
  return s;
}

function bindDgram(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, HOST, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

export interface RttServerInfo {
  port: number;
  address?: string;
  publicKey?: string;
}

type Setup = Promise<{ ready: Record<string, unknown>; handlers: Record<string, Handler>; close: () => Promise<void> | void }>;

export async function rttServer(cfg: { peer: string }): Setup {
  let cpu0 = process.cpuUsage();
  let echoed = 0;
  const handlers: Record<string, Handler> = {
    mark: () => {
      cpu0 = process.cpuUsage();
      echoed = 0;
      return {};
    },
    measure: () => ({ cpu: cpuSince(cpu0), echoed }),
  };
  if (cfg.peer === 'hubless') {
    const [id] = await generateIdentities(1, 'rtt server');
    const node = await createNode({ identity: id, listen: { host: HOST, port: 0 } });
    node.listen(PORT, (msg) => {
      echoed++;
      msg.session.send(msg.srcPort, msg.data, { srcPort: PORT });
    });
    const info: RttServerInfo = { port: node.endpoint.port, address: node.address.toString(), publicKey: node.publicKey.toString('hex') };
    return {
      ready: { info, algorithms: node.algorithms },
      handlers: { ...handlers, stats: () => ({ stats: node.stats() }) },
      close: async () => {
        await node.close();
        id.destroy();
      },
    };
  }
  if (cfg.peer === 'dgram') {
    const s = await bindDgram();
    s.on('message', (m, r) => {
      echoed++;
      s.send(m, r.port, r.address);
    });
    return { ready: { info: { port: s.address().port } }, handlers, close: () => new Promise<void>((r) => s.close(() => r())) };
  }
  if (cfg.peer === 'udx') {
    const s = udxSocket();
    s.on('message', (m, r) => {
      echoed++;
      s.trySend(m, r.port, r.host);
    });
    return { ready: { info: { port: s.address().port } }, handlers, close: () => s.close() };
  }
  throw new Error(`unknown rtt peer ${cfg.peer}`);
}

interface Pinger {
  send(b: Buffer): void;
  onReply(fn: (b: Buffer) => void): void;
  close(): Promise<void> | void;
  info: Record<string, unknown>;
}

async function pinger(peer: string, server: RttServerInfo): Promise<Pinger> {
  if (peer === 'hubless') {
    const [id] = await generateIdentities(1, 'rtt client');
    const node: Node = await createNode({ identity: id, listen: { host: HOST, port: 0 } });
    const t0 = performance.now();
    const session = await node.connect(server.address!, {
      publicKey: server.publicKey!, endpoint: { address: HOST, port: server.port }, timeoutMs: 10_000,
    });
    const connectMs = performance.now() - t0;
    return {
      send: (b) => void session.send(PORT, b, { srcPort: PORT }),
      onReply: (fn) => session.on('message', (data) => fn(data)),
      close: async () => {
        await node.close();
        id.destroy();
      },
      info: { algorithm: session.algorithm, connectMs },
    };
  }
  if (peer === 'dgram') {
    const s = await bindDgram();
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.connect(server.port, HOST, () => {
        s.off('error', reject);
        resolve();
      });
    });
    return {
      send: (b) => s.send(b),
      onReply: (fn) => s.on('message', (m) => fn(m)),
      close: () => new Promise<void>((r) => s.close(() => r())),
      info: { connected: true },
    };
  }
  if (peer === 'udx') {
    const s = udxSocket();
    return {
      send: (b) => s.trySend(b, server.port, HOST),
      onReply: (fn) => s.on('message', (m) => fn(m)),
      close: () => s.close(),
      info: {},
    };
  }
  throw new Error(`unknown rtt peer ${peer}`);
}

interface PingResult {
  samples: Float64Array;
  lost: number;
  stale: number;
  seconds: number;
  cpu: CpuMs;
}

function pingPong(p: Pinger, warmup: number, count: number, label: string): Promise<PingResult> {
  return new Promise((resolve, reject) => {
    const total = warmup + count;
    const samples = new Float64Array(count);
    const buf = Buffer.alloc(RTT_PAYLOAD);
    for (let i = 4; i < RTT_PAYLOAD; i++) buf[i] = (i * 37 + 11) & 0xff;
    let done = 0;
    let seq = 0;
    let tSend = 0;
    let lost = 0;
    let stale = 0;
    let cpu0 = process.cpuUsage();
    let t0 = performance.now();
    let finished = false;
    const fire = (): void => {
      seq = (seq + 1) >>> 0;
      buf.writeUInt32LE(seq, 0);
      tSend = performance.now();
      p.send(buf);
    };
    const finish = (err?: Error): void => {
      if (finished) return;
      finished = true;
      clearInterval(watchdog);
      clearInterval(progress);
      clearTimeout(limit);
      if (err) return reject(err);
      resolve({ samples, lost, stale, seconds: (performance.now() - t0) / 1000, cpu: cpuSince(cpu0) });
    };
    p.onReply((b) => {
      const now = performance.now();
      if (finished) return;
      // A late echo of a request given up as lost, or a corrupted one: not a sample.
      if (!b.equals(buf)) {
        stale++;
        return;
      }
      if (done >= warmup) samples[done - warmup] = (now - tSend) * 1000;
      done++;
      if (done === warmup) {
        cpu0 = process.cpuUsage();
        t0 = performance.now();
      }
      if (done === total) return finish();
      fire();
    });
    // A request with no echo within 250 ms is lost (loopback does not delay that long): send the next.
    const watchdog = setInterval(() => {
      if (performance.now() - tSend > 250) {
        lost++;
        if (lost > 100) return finish(new Error(`${label}: more than 100 requests lost`));
        fire();
      }
    }, 50);
    const progress = setInterval(() => tick(`${label}: ${done}/${total} round trips`), 250);
    const limit = setTimeout(() => finish(new Error(`${label}: not done within 120 s`)), 120_000);
    fire();
  });
}

export async function rttClient(cfg: { peer: string }): Setup {
  let p: Pinger | null = null;
  return {
    ready: {},
    handlers: {
      connect: async (m) => {
        p = await pinger(cfg.peer, m.server as RttServerInfo);
        return { info: p.info };
      },
      run: async (m) => {
        if (p === null) throw new Error('connect first');
        const r = await pingPong(p, Number(m.warmup), Number(m.count), String(m.label));
        return { rttUs: summarize(r.samples), lost: r.lost, stale: r.stale, seconds: r.seconds, cpu: r.cpu, info: p.info };
      },
    },
    close: () => p?.close(),
  };
}
