/**
 * hubless: encrypted streams through the public API, as users run them. Each side is a node
 * (`createNode` with a fresh identity); the sender connects to the receiver's public key at its
 * UDP endpoint (a full handshake, the responder verifying the initiator's address binding) and
 * opens streams with `session.openStream(port)`; the receiver takes them from `node.listen(port)`.
 */
import { createNode, Identity, Transport, type Node, type Session } from '../../../src/index.js';
import { streamsOf } from '../../../src/stream/hub.js';
import type { Stream } from '../../../src/stream/stream.js';
import type { PeerConfig, PeerModule, ReceiverSide, RxCounter, SenderSide, Setup, Sink } from '../types.js';

const PORT = 7;

async function open(cfg: PeerConfig): Promise<Node> {
  const identity = await Identity.generate();
  const streams = { maxStreams: cfg.maxStreams };
  if (cfg.role === 'sender' && cfg.faultLoss !== undefined && cfg.faultLoss > 0) {
    // The fallback when no lossy link can be made: hubless's TEST-ONLY loss on the sending side,
    // which the public API does not expose; so the node runs on a transport we hold.
    const transport = await Transport.open({ host: cfg.host, port: 0 });
    const node = await createNode({ identity, transport, streams });
    streamsOf(transport).setFaults({ loss: cfg.faultLoss });
    return node;
  }
  return createNode({ identity, listen: { host: cfg.host, port: 0 }, streams });
}

function info(node: Node): Record<string, unknown> {
  return { port: node.endpoint.port, publicKey: node.publicKey.toString('hex'), algorithms: node.algorithms };
}

function stats(node: Node, session: Session | null): Record<string, unknown> {
  return { node: node.stats(), session: session?.stats() ?? null };
}

async function openSender(cfg: PeerConfig): Promise<SenderSide> {
  const node = await open(cfg);
  let session: Session | null = null;
  const streams: Stream[] = [];
  return {
    info: info(node),
    async setup(s: Setup): Promise<void> {
      const peer = s.peerInfo as { port: number; publicKey: string };
      session = await node.connect(peer.publicKey, { endpoint: { address: cfg.peerHost, port: peer.port } });
    },
    async open(n: number): Promise<Sink[]> {
      const out: Sink[] = [];
      for (let i = 0; i < n; i++) {
        const s = session!.openStream(PORT);
        s.on('error', () => {}); // a reset at teardown is expected
        streams.push(s);
        out.push({ write: (c) => s.write(c), onceDrain: (fn) => s.once('drain', fn) });
      }
      return out;
    },
    stats: () => stats(node, session),
    close: () => node.close(),
  };
}

async function openReceiver(cfg: PeerConfig, rx: RxCounter): Promise<ReceiverSide> {
  const node = await open(cfg);
  let session: Session | null = null;
  node.listen(PORT).on('stream', (s: Stream, from: Session) => {
    session = from;
    const check = rx.stream();
    s.on('data', (c: Buffer) => {
      check(c);
      rx.lastRx = performance.now();
    });
    s.on('error', () => {});
  });
  return {
    info: info(node),
    setup: () => {},
    stats: () => stats(node, session),
    close: () => node.close(),
  };
}

export const hubless: PeerModule = {
  label: 'hubless (AES-256-GCM)',
  encrypted: true,
  multiplexed: true,
  openSender,
  openReceiver,
};
