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
  /** Use this directory (`<key>@<ip>:<port>`) instead of starting one; skips the stop/restart steps. */
  directory?: string;
  /** Extra capabilities the coordinator must find (nobody offers them: the demo fails clearly). */
  needs?: string[];
  log: (line: string) => void;
}

export interface DemoResult {
  coordinator: string;
  directory: { entry: string; embedded: boolean };
  rows: SummaryRow[];
  /** What "no hub" looked like: requests with the directory stopped, and a specialist's restart. */
  steps: {
    withoutDirectory?: { ok: number; failed: number };
    restart?: { name: string; address: string; sameAddress: boolean; before: string; after: string; rttMs: number };
  };
}

type Ready<R extends string> = Extract<Report, { event: 'ready'; role: R }>;
const isRegistered = (x: Report): x is Extract<Report, { event: 'registered' }> => x.event === 'registered';
const RESTARTED = 'translator';

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
  const steps: DemoResult['steps'] = {};
  try {
    // 1. The directory: the only well-known place, and only for finding each other.
    let directory: Child | null = null;
    let entry = o.directory ?? '';
    let dirPort = 0;
    const startDirectory = async (verb: string) => {
      directory = kids.start(['directory', join(o.dir, 'directory.key'), join(o.dir, 'directory-db'), String(dirPort)], 'directory');
      const r = await directory.next((x): x is Ready<'directory'> => x.event === 'ready' && x.role === 'directory');
      entry = r.entry;
      dirPort = r.endpoint.port;
      o.log(`${verb} the directory ${r.publicKey.slice(0, 16)}… at udp ${r.endpoint.address}:${r.endpoint.port} (embedded lmdb store in ${join(o.dir, 'directory-db')})`);
    };
    if (o.directory === undefined) await startDirectory('started');
    else o.log(`using the directory ${entry}`);

    // 2. Specialists register their capabilities.
    o.log(`starting ${SPECIALISTS.length} specialists (key files in ${o.dir}: same files, same addresses)`);
    const specialists = new Map<string, Child>();
    const startSpecialist = (name: string) => {
      const child = kids.start(['specialist', name, join(o.dir, `${name}.key`), entry], name);
      child.on((r) => {
        if (r.event === 'registered') o.log(`  ${r.name.padEnd(11)} ${r.address}  registered as ${r.hostname} (record seq ${r.seq}, udp ${r.endpoint})`);
      });
      specialists.set(name, child);
      return child;
    };
    await Promise.all(SPECIALISTS.map(async (s) => {
      const r = await startSpecialist(s.name).next((x): x is Ready<'specialist'> => x.event === 'ready' && x.role === 'specialist');
      const attrs = Object.entries(r.capability.attributes).map(([k, v]) => `${k}=${v}`).join(' ');
      o.log(`  ${r.name.padEnd(11)} ${r.address}  offers ${r.capability.name}${attrs ? ` {${attrs}}` : ''}`);
    }));
    if (o.directory === undefined) await Promise.all([...specialists.values()].map((c) => c.next(isRegistered)));

    // 3. The coordinator finds them by capability and connects to each directly.
    o.log('starting the coordinator: it finds each capability in the directory and connects to the specialist directly');
    const needs = [
      ...SPECIALISTS.map((s) => ({ capability: s.capability.name, attributes: s.capability.attributes })),
      ...(o.needs ?? []).map((capability) => ({ capability })),
    ];
    const coord = kids.start(['coordinator', join(o.dir, 'coordinator.key'), entry, JSON.stringify(needs)], 'coordinator', { final: true });
    coord.on((r) => {
      if (r.event === 'ready' && r.role === 'coordinator') o.log(`  coordinator ${r.address}`);
      else if (r.event === 'found') o.log(`  found ${r.capability}: ${r.name} ${r.address} at udp ${r.endpoint}`);
      else if (r.event === 'connected') o.log(`  connected to ${r.name} ${r.address}: directory lookup ${r.lookupMs.toFixed(1)} ms, handshake ${r.handshakeMs.toFixed(1)} ms (${r.path}, ${r.algorithm}, address binding verified)`);
      else if (r.event === 'request') o.log(`    ${r.capability}(${JSON.stringify(r.input.length > 48 ? `${r.input.slice(0, 45)}...` : r.input)}) → ${JSON.stringify(r.output)}  ${r.rttMs.toFixed(2)} ms`);
      else if (r.event === 'failed') o.log(`    ${r.name}: ${r.capability} request failed: ${r.error}`);
      else if (r.event === 'docs') o.log(`  ${r.documents} documents streamed to ${r.name} on one stream, ${r.summaries} summaries back in ${r.ms.toFixed(1)} ms`);
    });
    const coordinator = (await coord.next((x): x is Ready<'coordinator'> => x.event === 'ready' && x.role === 'coordinator')).address;
    await coord.ipcReady();

    const round = async (label: string, rounds: number) => {
      const r = await coord.command({ cmd: 'round', label, rounds }, (x) => x.event === 'round' && x.label === label);
      return r.event === 'round' ? { ok: r.ok, failed: r.failed } : { ok: 0, failed: 0 };
    };
    o.log(`requests (request/response, one stream each), ${o.rounds} per specialist:`);
    const first = await round('first', o.rounds);
    if (first.failed > 0) throw new HublessError('ERR_HUBLESS_DEMO_REMOTE', `${first.failed} requests failed`);
    await coord.command({ cmd: 'docs', count: 30 }, (x) => x.event === 'docs');

    if (directory !== null) {
      // 4. No hub: stop the directory; the sessions do not need it.
      await (directory as Child).stop();
      o.log('stopped the directory');
      const without = await round('without-directory', o.rounds);
      steps.withoutDirectory = without;
      if (without.failed > 0) throw new HublessError('ERR_HUBLESS_DEMO_REMOTE', `${without.failed} requests failed with the directory stopped`);
      o.log(`  ${without.ok} requests answered with the directory stopped: it is not in the data path`);

      // 5. A specialist restarts (new process, new UDP port, same key: same address) while the
      //    directory is down; once the directory is back, the coordinator finds its new endpoint.
      const old = specialists.get(RESTARTED)!;
      await old.stop();
      o.log(`stopped ${RESTARTED}; starting it again from the same key file`);
      const again = startSpecialist(RESTARTED);
      const back = await again.next((x): x is Ready<'specialist'> => x.event === 'ready' && x.role === 'specialist');
      o.log(`  ${RESTARTED} is back as ${back.address} at udp ${back.endpoint.address}:${back.endpoint.port}; it registers when the directory returns`);
      await startDirectory('restarted');
      await again.next(isRegistered);
      const reached = await coord.command({ cmd: 'reach', name: RESTARTED }, (x) => x.event === 'reached');
      if (reached.event === 'reached') {
        steps.restart = { name: RESTARTED, address: reached.address, sameAddress: reached.address === back.address, before: reached.before, after: reached.endpoint, rttMs: reached.rttMs };
        o.log(`  reached ${RESTARTED} ${reached.address} again: udp ${reached.before} → ${reached.endpoint}, handshake ${reached.handshakeMs.toFixed(1)} ms, ` +
          `answer ${JSON.stringify(reached.output)} in ${reached.rttMs.toFixed(2)} ms`);
      }
    }

    const done = await coord.command({ cmd: 'finish' }, (x) => x.event === 'summary');
    return { coordinator, directory: { entry, embedded: o.directory === undefined }, rows: done.event === 'summary' ? done.rows : [], steps };
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
