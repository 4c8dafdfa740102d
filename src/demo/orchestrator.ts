/**
 * `hubless demo`: starts the agents, each in its own process with its own key file (so addresses
 * are permanent across runs), drives the story step by step, prints what happens and a summary,
 * and stops every process it started — on success, on Ctrl-C, and when any child dies.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { HublessError } from '../errors.js';
import { Children, type Child } from './children.js';
import { SPECIALISTS, type Report, type SummaryRow } from './protocol.js';

export interface DemoOptions {
  dir: string;
  rounds: number;
  timeoutMs: number;
  log: (line: string) => void;
}

export interface DemoResult {
  coordinator: string;
  rows: SummaryRow[];
}

type Ready<R extends string> = Extract<Report, { event: 'ready'; role: R }>;

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const kids = new Children(o.log);
  const onSignal = () => {
    o.log('interrupted: stopping every agent');
    kids.fail(new HublessError('ERR_HUBLESS_DEMO_INTERRUPTED', 'interrupted'));
    process.exitCode = 130;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const timeout = setTimeout(() => kids.fail(new HublessError('ERR_HUBLESS_DEMO_TIMEOUT', `the demo did not finish within ${o.timeoutMs} ms`)), o.timeoutMs);
  try {
    o.log(`starting ${SPECIALISTS.length} specialists (key files in ${o.dir})`);
    const specialists = new Map<string, Child>();
    const ready = await Promise.all(SPECIALISTS.map(async (s) => {
      const child = kids.start(['specialist', s.name, join(o.dir, `${s.name}.key`)], s.name);
      specialists.set(s.name, child);
      const r = await child.next((x): x is Ready<'specialist'> => x.event === 'ready' && x.role === 'specialist');
      const attrs = Object.entries(r.capability.attributes).map(([k, v]) => `${k}=${v}`).join(' ');
      o.log(`  ${r.name.padEnd(11)} ${r.address}  offers ${r.capability.name}${attrs ? ` {${attrs}}` : ''}  at udp ${r.endpoint.address}:${r.endpoint.port}`);
      return r;
    }));

    o.log('starting the coordinator; it connects to each specialist directly (Noise IK, address binding verified)');
    const targets = ready.map((r) => ({ name: r.name, address: r.address, publicKey: r.publicKey, endpoint: r.endpoint, capability: r.capability }));
    const coord = kids.start(['coordinator', join(o.dir, 'coordinator.key'), JSON.stringify(targets)], 'coordinator', { final: true });
    coord.on((r) => {
      if (r.event === 'ready' && r.role === 'coordinator') o.log(`  coordinator ${r.address}`);
      else if (r.event === 'connected') o.log(`  connected to ${r.name} ${r.address} in ${r.handshakeMs.toFixed(1)} ms (${r.path}, ${r.algorithm})`);
      else if (r.event === 'request') o.log(`    ${r.capability}(${JSON.stringify(r.input.length > 48 ? `${r.input.slice(0, 45)}...` : r.input)}) → ${JSON.stringify(r.output)}  ${r.rttMs.toFixed(2)} ms`);
      else if (r.event === 'failed') o.log(`    ${r.name}: ${r.capability} request failed: ${r.error}`);
      else if (r.event === 'docs') o.log(`  ${r.documents} documents streamed to ${r.name} on one stream, ${r.summaries} summaries back in ${r.ms.toFixed(1)} ms`);
    });
    const coordinator = (await coord.next((x): x is Ready<'coordinator'> => x.event === 'ready' && x.role === 'coordinator')).address;
    await coord.ipcReady();

    o.log(`requests (request/response on streams), ${o.rounds} per specialist:`);
    const first = await coord.command({ cmd: 'round', label: 'first', rounds: o.rounds }, (x) => x.event === 'round');
    if (first.event === 'round' && first.failed > 0) throw new HublessError('ERR_HUBLESS_DEMO_REMOTE', `${first.failed} requests failed`);
    await coord.command({ cmd: 'docs', count: 30 }, (x) => x.event === 'docs');

    const done = await coord.command({ cmd: 'finish' }, (x) => x.event === 'summary');
    return { coordinator, rows: done.event === 'summary' ? done.rows : [] };
  } finally {
    clearTimeout(timeout);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await kids.stopAll();
  }
}

export function formatSummary(rows: SummaryRow[]): string {
  const head = ['agent', 'address', 'capability', 'handshake ms', 'requests', 'p50 ms', 'p99 ms', 'bytes out', 'bytes in'];
  const body = rows.map((r) => [r.name, r.address, r.capability, r.handshakeMs.toFixed(1), `${r.requests}${r.failures ? ` (${r.failures} failed)` : ''}`,
    r.p50Ms.toFixed(2), r.p99Ms.toFixed(2), String(r.bytesOut), String(r.bytesIn)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
