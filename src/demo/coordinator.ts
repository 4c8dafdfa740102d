/**
 * The demo coordinator: finds a specialist for each capability it needs through the directory,
 * connects to each directly (Noise IK; the directory's record gives key and endpoint, the
 * handshake proves the key owns the address), then runs the phases the orchestrator sends over
 * IPC — request rounds (node.request: one stream per request), a batch of documents on one
 * stream, reaching a restarted specialist again — and finally reports a summary.
 */
import { HublessError } from '../errors.js';
import type { Node } from '../node/node.js';
import type { Session } from '../session/session.js';
import { DOCS_PORT, report, SKILL_PORT, type Command, type SummaryRow } from './protocol.js';

const INPUTS: Record<string, string[]> = {
  summarize: [
    'Agents need addresses. Without an address, an agent cannot be reached directly. hubless gives every agent a permanent address bound to its key. The directory helps agents find each other by capability. Traffic then flows directly and encrypted between the agents.',
    'The relay is blind. It moves ciphertext it cannot read. Most sessions never need it because hole punching works. When it is needed, the relay keeps the session alive.',
  ],
  translate: ['Hello world', 'The agents talk directly to each other', 'Good morning friend', 'Encrypted data and no hub'],
  'math.eval': ['2 + 3 * 4', '(1 + 2) ^ 10 / 3', '17 % 5 + 0.5', '-(4 - 6) * (2 + 8)'],
};

const DOCUMENTS = [
  'Streams carry bytes in order. They recover from loss. Backpressure keeps memory bounded.',
  'A directory lists agents by capability. Records are signed by their agents. Clients verify every record.',
  'Sessions are end to end encrypted. Keys rotate every two minutes. Old keys stay briefly for late packets.',
];

/** A capability the coordinator needs, with attribute values it must have. */
export interface Need {
  capability: string;
  attributes?: Record<string, string | number | boolean>;
}

export interface Peer {
  name: string;
  capability: string;
  address: string;
  session: Session;
  handshakeMs: number;
  rtts: number[];
  failures: number;
  /** Traffic of sessions replaced after a restart. */
  bytesOut: number;
  bytesIn: number;
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function ask(node: Node, peer: Peer, input: string, quiet: boolean): Promise<boolean> {
  const t0 = performance.now();
  try {
    const output = await node.request(peer.session, SKILL_PORT, { capability: peer.capability, input }, { timeoutMs: 3000 });
    const rttMs = performance.now() - t0;
    peer.rtts.push(rttMs);
    if (!quiet) report({ event: 'request', name: peer.name, capability: peer.capability, input, output: String(output), rttMs });
    return true;
  } catch (err) {
    peer.failures++;
    const e = err as HublessError;
    report({ event: 'failed', name: peer.name, capability: peer.capability, error: e.message, code: e.code });
    return false;
  }
}

export class Coordinator {
  readonly node: Node;
  readonly peers = new Map<string, Peer>();

  constructor(node: Node) {
    this.node = node;
  }

  /** Finds a provider of each need in the directory and connects to it. */
  async discover(needs: Need[]): Promise<void> {
    for (const need of needs) {
      const { records } = await this.node.find({ capability: { name: need.capability, attributes: need.attributes }, limit: 10 });
      const r = records[0];
      if (r === undefined) {
        const attrs = Object.entries(need.attributes ?? {}).map(([k, v]) => `${k}=${v}`).join(' ');
        throw new HublessError('ERR_HUBLESS_DEMO_NO_PROVIDER', `nobody offers capability ${need.capability}${attrs ? ` {${attrs}}` : ''}`);
      }
      const cap = r.capabilities.find((c) => c.name === need.capability);
      report({
        event: 'found', capability: need.capability, name: r.hostname ?? r.address, address: r.address,
        endpoint: r.endpoints.map((e) => `${e.host}:${e.port}`).join(' '), attributes: { ...cap?.attributes },
      });
      await this.connect(r.hostname ?? r.address, need.capability, r.address);
    }
  }

  /** Connects through the directory (key and endpoint from its verified record) and remembers the peer by name. */
  async connect(name: string, capability: string, address: string): Promise<Peer> {
    // The directory's verified record gives the key and endpoint; the handshake then proves the
    // key owns the address. Timed apart: the lookup, then the direct handshake.
    const t0 = performance.now();
    const record = await this.node.resolve(address);
    const lookupMs = performance.now() - t0;
    const ep = record.endpoints[0];
    if (ep === undefined) throw new HublessError('ERR_HUBLESS_NO_ROUTE', `the directory has no endpoint for ${name}`);
    const t1 = performance.now();
    const session = await this.node.connect(address, { publicKey: record.publicKey, endpoint: { address: ep.host, port: ep.port } });
    const handshakeMs = performance.now() - t1;
    const old = this.peers.get(name);
    const peer: Peer = {
      name, capability, address: session.remoteAddress.toString(), session, handshakeMs,
      rtts: old?.rtts ?? [], failures: old?.failures ?? 0,
      bytesOut: (old?.bytesOut ?? 0) + (old ? old.session.stats().txBytes : 0),
      bytesIn: (old?.bytesIn ?? 0) + (old ? old.session.stats().rxBytes : 0),
    };
    this.peers.set(name, peer);
    const at = session.endpoint;
    report({ event: 'connected', name, address: peer.address, lookupMs, handshakeMs, path: `direct udp ${at.address}:${at.port}`, algorithm: session.algorithm });
    return peer;
  }

  async run(c: Command): Promise<void> {
    switch (c.cmd) {
      case 'round': {
        let ok = 0, failed = 0;
        for (const peer of this.peers.values()) {
          const inputs = INPUTS[peer.capability] ?? ['?'];
          for (let r = 0; r < c.rounds; r++) {
            if (await ask(this.node, peer, inputs[r % inputs.length], r >= inputs.length || c.label !== 'first')) ok++;
            else failed++;
          }
        }
        report({ event: 'round', label: c.label, ok, failed });
        return;
      }
      case 'docs':
        await this.#documents(c.count);
        return;
      case 'reach':
        await this.#reach(c.name);
        return;
      case 'finish':
        report({ event: 'summary', rows: this.summary() });
        return;
    }
  }

  /**
   * A specialist restarted (same key file: same address, new UDP port). The old session is dead;
   * the directory, once back, has its new endpoint: connect again and ask it something.
   */
  async #reach(name: string): Promise<void> {
    const old = this.peers.get(name);
    if (old === undefined) throw new HublessError('ERR_HUBLESS_DEMO_NO_PROVIDER', `no specialist ${name}`);
    const before = `${old.session.endpoint.address}:${old.session.endpoint.port}`;
    old.session.close();
    const peer = await this.connect(name, old.capability, old.address);
    const input = (INPUTS[peer.capability] ?? ['?'])[0];
    const t0 = performance.now();
    const output = await this.node.request(peer.session, SKILL_PORT, { capability: peer.capability, input }, { timeoutMs: 3000 });
    const rttMs = performance.now() - t0;
    peer.rtts.push(rttMs);
    const ep = peer.session.endpoint;
    report({ event: 'reached', name, address: peer.address, before, endpoint: `${ep.address}:${ep.port}`, handshakeMs: peer.handshakeMs, output: String(output), rttMs });
  }

  /** Sends `count` documents to the summariser on one stream, reading summaries as they come. */
  async #documents(count: number): Promise<void> {
    const peer = [...this.peers.values()].find((p) => p.capability === 'summarize');
    if (peer === undefined) throw new HublessError('ERR_HUBLESS_DEMO_NO_PROVIDER', 'no summariser connected');
    const t0 = performance.now();
    const stream = peer.session.openStream(DOCS_PORT);
    const writing = (async () => {
      for (let i = 0; i < count; i++) await stream.sendMessage(DOCUMENTS[i % DOCUMENTS.length]);
      stream.end();
    })();
    let summaries = 0;
    for await (const s of stream.messages()) if (typeof s === 'string' && s.length > 0) summaries++;
    await writing;
    report({ event: 'docs', name: peer.name, documents: count, summaries, ms: performance.now() - t0 });
    if (summaries !== count) throw new HublessError('ERR_HUBLESS_DEMO_REMOTE', `${summaries} of ${count} summaries came back`);
  }

  summary(): SummaryRow[] {
    return [...this.peers.values()].map((p) => {
      const st = p.session.stats();
      return {
        name: p.name, address: p.address, capability: p.capability, handshakeMs: p.handshakeMs,
        requests: p.rtts.length, failures: p.failures, p50Ms: percentile(p.rtts, 50), p99Ms: percentile(p.rtts, 99),
        bytesOut: p.bytesOut + st.txBytes, bytesIn: p.bytesIn + st.rxBytes,
      };
    });
  }
}
