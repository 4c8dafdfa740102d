/**
 * A demo agent process: `specialist <name> <keyFile>` or `coordinator <keyFile> <targets-json>`.
 * Each reports progress to the orchestrator as JSON lines on stdout; the coordinator runs the
 * commands the orchestrator sends over IPC, one at a time.
 */
import { createNode } from '../node/node.js';
import { HublessError } from '../errors.js';
import { Coordinator } from './coordinator.js';
import { report, SPECIALISTS, type Command } from './protocol.js';
import { serveSkill } from './specialist.js';

interface Target {
  name: string;
  address: string;
  publicKey: string;
  endpoint: { address: string; port: number };
  capability: { name: string };
}

async function specialist(name: string, keyFile: string): Promise<void> {
  const spec = SPECIALISTS.find((s) => s.name === name);
  if (spec === undefined) throw new HublessError('ERR_HUBLESS_USAGE', `unknown specialist ${name}`);
  const node = await createNode({ keyFile, listen: { host: '127.0.0.1', port: 0 } });
  serveSkill(node, spec);
  report({
    event: 'ready', role: 'specialist', name, capability: spec.capability, address: node.address.toString(),
    publicKey: Buffer.from(node.publicKey).toString('hex'), endpoint: node.endpoint,
  });
  const stop = () => void node.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function coordinator(keyFile: string, targets: Target[]): Promise<void> {
  const node = await createNode({ keyFile, listen: { host: '127.0.0.1', port: 0 } });
  report({ event: 'ready', role: 'coordinator', address: node.address.toString() });
  const c = new Coordinator(node);
  for (const t of targets) await c.connect(t.name, t.capability.name, t.address, { publicKey: t.publicKey, endpoint: t.endpoint });
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
  if (role === 'specialist') await specialist(rest[0], rest[1]);
  else if (role === 'coordinator') await coordinator(rest[0], JSON.parse(rest[1]) as Target[]);
  else throw new HublessError('ERR_HUBLESS_USAGE', 'agent role must be specialist or coordinator');
}

// Children exit when the orchestrator goes away, so nothing is left running.
process.on('disconnect', () => process.exit(0));
main(process.argv.slice(2)).catch(die);
