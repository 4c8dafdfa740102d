/**
 * A demo agent process, one role each:
 *   directory   <keyFile> <storePath> <port>    a directory on the embedded (lmdb) store
 *   specialist  <name> <keyFile> <entry>        one skill, registered in the directory
 *   coordinator <keyFile> <entry> <needs-json>  finds specialists by capability and talks to them
 * Each reports progress to the orchestrator as JSON lines on stdout; the coordinator runs the
 * commands the orchestrator sends over IPC, one at a time.
 */
import { createNode, type Node } from '../node/node.js';
import { formatEntry } from '../directory/entry.js';
import { startDirectoryServer } from '../directory/server.js';
import { HublessError } from '../errors.js';
import { Coordinator, type Need } from './coordinator.js';
import { report, SPECIALISTS, type Command } from './protocol.js';
import { serveSkill } from './specialist.js';

const LOOPBACK = '127.0.0.1';

function onStop(close: () => Promise<void>): void {
  const stop = () => void close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function directory(keyFile: string, storePath: string, port: number): Promise<void> {
  // Short leases so that a stopped agent leaves query results within seconds.
  const server = await startDirectoryServer({ keyFile, store: `lmdb:${storePath}`, listen: { host: LOOPBACK, port }, leaseMs: 10_000 });
  const endpoint = server.node.endpoint;
  report({
    event: 'ready', role: 'directory', publicKey: Buffer.from(server.node.publicKey).toString('hex'),
    endpoint: { address: endpoint.address, port: endpoint.port }, entry: formatEntry(server.node.publicKey, endpoint),
  });
  onStop(() => server.close());
}

/** Reports each registration the directory accepted (first one and every change, not heartbeats). */
function reportRegistrations(node: Node, name: string): void {
  const reg = node.directory?.registration;
  if (reg == null) return;
  let lastSeq = -1;
  const say = () => {
    const r = reg.record?.record;
    if (r === undefined || r.seq === lastSeq) return;
    lastSeq = r.seq;
    report({ event: 'registered', name, address: r.address, hostname: r.hostname ?? '', seq: r.seq, endpoint: r.endpoints.map((e) => `${e.host}:${e.port}`).join(' ') });
  };
  reg.on('lease', say);
  say();
}

async function specialist(name: string, keyFile: string, entry: string): Promise<void> {
  const spec = SPECIALISTS.find((s) => s.name === name);
  if (spec === undefined) throw new HublessError('ERR_HUBLESS_USAGE', `unknown specialist ${name}`);
  // Registration happens inside createNode; with the directory down it goes on in the background.
  const node = await createNode({
    keyFile, listen: { host: LOOPBACK, port: 0 }, directory: entry,
    capabilities: [{ name: spec.capability.name, attributes: spec.capability.attributes }], hostname: name,
  });
  serveSkill(node, spec);
  report({
    event: 'ready', role: 'specialist', name, capability: spec.capability, address: node.address.toString(),
    publicKey: Buffer.from(node.publicKey).toString('hex'), endpoint: node.endpoint,
  });
  reportRegistrations(node, name);
  onStop(() => node.close());
}

async function coordinator(keyFile: string, entry: string, needs: Need[]): Promise<void> {
  const node = await createNode({ keyFile, listen: { host: LOOPBACK, port: 0 }, directory: entry, register: false });
  report({ event: 'ready', role: 'coordinator', address: node.address.toString() });
  const c = new Coordinator(node);
  await c.discover(needs);
  let chain = Promise.resolve();
  process.on('message', (m) => {
    chain = chain.then(async () => {
      await c.run(m as Command);
      if ((m as Command).cmd === 'finish') {
        await node.close();
        process.exit(0);
      }
    }).catch(die);
  });
  process.send?.({ ok: true });
}

function die(err: unknown): never {
  const e = err as { message?: string; code?: string };
  report({ event: 'fatal', error: e.message ?? String(err), code: e.code });
  process.exit(1);
}

async function main(argv: string[]): Promise<void> {
  const [role, ...rest] = argv;
  if (role === 'directory') await directory(rest[0], rest[1], Number(rest[2]));
  else if (role === 'specialist') await specialist(rest[0], rest[1], rest[2]);
  else if (role === 'coordinator') await coordinator(rest[0], rest[1], JSON.parse(rest[2]) as Need[]);
  else throw new HublessError('ERR_HUBLESS_USAGE', 'agent role must be directory, specialist or coordinator');
}

// Children exit when the orchestrator goes away, so nothing is left running.
process.on('disconnect', () => process.exit(0));
main(process.argv.slice(2)).catch(die);
