/**
 * A demo agent process. `specialist <name> <keyFile>` serves its skill on SKILL_PORT;
 * `coordinator <keyFile> <specialists-json> <rounds>` connects to every specialist directly and
 * sends it requests. Both report progress to the orchestrator as JSON lines.
 */
import { createNode, type Node } from '../node/node.js';
import type { Session } from '../session/session.js';
import { HublessError } from '../errors.js';
import { decode, encode, report, SKILL_PORT, SPECIALISTS, type Reply, type Request, type SummaryRow } from './protocol.js';
import { evaluate, summarize, translate } from './skills.js';

const INPUTS: Record<string, string[]> = {
  summarize: [
    'Agents need addresses. Without an address, an agent cannot be reached directly. hubless gives every agent a permanent address bound to its key. The directory helps agents find each other by capability. Traffic then flows directly and encrypted between the agents.',
    'The relay is blind. It moves ciphertext it cannot read. Most sessions never need it because hole punching works. When it is needed, the relay keeps the session alive.',
  ],
  translate: ['Hello world', 'The agents talk directly to each other', 'Good morning friend', 'Encrypted data and no hub'],
  'math.eval': ['2 + 3 * 4', '(1 + 2) ^ 10 / 3', '17 % 5 + 0.5', '-(4 - 6) * (2 + 8)'],
};

function work(capability: string, input: string): string {
  switch (capability) {
    case 'summarize': return summarize(input, 2);
    case 'translate': return translate(input, 'en', 'fr');
    case 'math.eval': return String(evaluate(input));
    default: throw new HublessError('ERR_HUBLESS_DEMO_UNSUPPORTED', `no skill ${capability}`);
  }
}

async function specialist(name: string, keyFile: string): Promise<void> {
  const spec = SPECIALISTS.find((s) => s.name === name);
  if (spec === undefined) throw new HublessError('ERR_HUBLESS_USAGE', `unknown specialist ${name}`);
  const node = await createNode({ keyFile, listen: { host: '127.0.0.1', port: 0 } });
  node.listen(SKILL_PORT, (msg) => {
    const req = decode<Request>(msg.data, 'request');
    if (req === null) return;
    const t0 = performance.now();
    let reply: Reply;
    try {
      if (req.capability !== spec.capability.name) throw new HublessError('ERR_HUBLESS_DEMO_UNSUPPORTED', `I do ${spec.capability.name}, not ${req.capability}`);
      reply = { v: 1, id: req.id, ok: true, output: work(req.capability, req.input) };
    } catch (err) {
      reply = { v: 1, id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    msg.session.send(msg.srcPort, encode(reply), { srcPort: SKILL_PORT });
    report({ event: 'served', name, capability: req.capability, ms: performance.now() - t0 });
  });
  report({
    event: 'ready', role: 'specialist', name, capability: spec.capability, address: node.address.toString(),
    publicKey: Buffer.from(node.publicKey).toString('hex'), endpoint: node.endpoint,
  });
  const stop = () => void node.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

interface Target {
  name: string;
  address: string;
  publicKey: string;
  endpoint: { address: string; port: number };
  capability: { name: string };
}

/** Sends one request and waits for its reply; one retransmission after `timeoutMs` (datagrams). */
function request(session: Session, capability: string, input: string, id: number, replyPort: number, timeoutMs = 1500): Promise<{ reply: Reply; rttMs: number }> {
  return new Promise((resolve, reject) => {
    const bytes = encode({ v: 1, id, capability, input });
    const t0 = performance.now();
    let tries = 0;
    const onMessage = (data: Buffer, info: { port: number }) => {
      if (info.port !== replyPort) return;
      const reply = decode<Reply>(data, 'reply');
      if (reply === null || reply.id !== id) return;
      clearTimeout(timer);
      session.off('message', onMessage);
      resolve({ reply, rttMs: performance.now() - t0 });
    };
    const send = () => {
      if (tries++ === 2) {
        session.off('message', onMessage);
        reject(new HublessError('ERR_HUBLESS_DEMO_TIMEOUT', `no reply to ${capability} request ${id} after ${tries - 1} tries`));
        return;
      }
      session.send(SKILL_PORT, bytes, { srcPort: replyPort });
      timer = setTimeout(send, timeoutMs);
    };
    let timer: NodeJS.Timeout;
    session.on('message', onMessage);
    send();
  });
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function coordinator(keyFile: string, targets: Target[], rounds: number): Promise<void> {
  const node: Node = await createNode({ keyFile, listen: { host: '127.0.0.1', port: 0 } });
  report({ event: 'ready', role: 'coordinator', address: node.address.toString() });
  const rows: SummaryRow[] = [];
  let nextId = 1;
  for (const t of targets) {
    const t0 = performance.now();
    const session = await node.connect(t.address, { publicKey: t.publicKey, endpoint: t.endpoint });
    const handshakeMs = performance.now() - t0;
    report({ event: 'connected', name: t.name, address: session.remoteAddress.toString(), handshakeMs, path: 'direct', algorithm: session.algorithm });
    const rtts: number[] = [];
    let failures = 0;
    const inputs = INPUTS[t.capability.name] ?? [];
    for (let r = 0; r < rounds; r++) {
      const input = inputs[r % inputs.length];
      try {
        const { reply, rttMs } = await request(session, t.capability.name, input, nextId++, 40000 + (nextId % 1000));
        if (!reply.ok) throw new HublessError('ERR_HUBLESS_DEMO_REMOTE', reply.error ?? 'remote error');
        rtts.push(rttMs);
        if (r < inputs.length) report({ event: 'request', name: t.name, capability: t.capability.name, input, output: reply.output ?? '', rttMs });
      } catch (err) {
        failures++;
        report({ event: 'failed', name: t.name, capability: t.capability.name, error: err instanceof Error ? err.message : String(err) });
      }
    }
    const st = session.stats();
    rows.push({
      name: t.name, address: session.remoteAddress.toString(), capability: t.capability.name, handshakeMs,
      requests: rtts.length, failures, p50Ms: percentile(rtts, 50), p99Ms: percentile(rtts, 99),
      bytesOut: st.txBytes, bytesIn: st.rxBytes,
    });
  }
  report({ event: 'summary', rows });
  await node.close();
}

async function main(argv: string[]): Promise<void> {
  const [role, ...rest] = argv;
  if (role === 'specialist') await specialist(rest[0], rest[1]);
  else if (role === 'coordinator') await coordinator(rest[0], JSON.parse(rest[1]) as Target[], Number(rest[2]));
  else throw new HublessError('ERR_HUBLESS_USAGE', 'agent role must be specialist or coordinator');
}

// Children exit when the orchestrator goes away, so nothing is left running.
process.on('disconnect', () => process.exit(0));
main(process.argv.slice(2)).catch((err: unknown) => {
  const e = err as { message?: string; code?: string };
  report({ event: 'fatal', error: e.message ?? String(err), code: e.code });
  process.exit(1);
});
