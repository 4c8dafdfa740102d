/**
 * `hubless demo`: starts specialist agents and a coordinator, each in its own process with its own
 * key file (so addresses are permanent across runs), shows what happens, prints a summary, and
 * stops every process it started — on success, on Ctrl-C, and when any child dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HublessError } from '../errors.js';
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

// The agent module sits next to this one, as .ts under tsx and .js when compiled.
const AGENT = fileURLToPath(new URL(`./agent${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const children = new Set<ChildProcess>();
  let stopping = false;
  const stopAll = () => {
    stopping = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    const t = setTimeout(() => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL'); }, 2000);
    t.unref();
  };
  const onSignal = () => { o.log('interrupted: stopping every agent'); stopAll(); process.exitCode = 130; };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let fail!: (e: Error) => void;
  const failed = new Promise<never>((_, reject) => { fail = reject; });
  failed.catch(() => {});

  const start = (args: string[], onReport: (r: Report) => void) => {
    const child = spawn(process.execPath, [...process.execArgv, AGENT, ...args], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    children.add(child);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let r: Report;
      try { r = JSON.parse(line) as Report; } catch { o.log(`  ${line}`); return; }
      if (r.event === 'fatal') fail(new HublessError((r.code as `ERR_HUBLESS_${string}`) ?? 'ERR_HUBLESS_DEMO_AGENT', `${args[0]} ${args[1]} failed: ${r.error}`));
      else onReport(r);
    });
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (!stopping && !(args[0] === 'coordinator' && code === 0)) {
        fail(new HublessError('ERR_HUBLESS_DEMO_AGENT', `${args[0]} ${args[0] === 'specialist' ? args[1] : ''} exited unexpectedly (${signal ?? `code ${code}`})`));
      }
    });
    return child;
  };

  const timeout = setTimeout(() => fail(new HublessError('ERR_HUBLESS_DEMO_TIMEOUT', `the demo did not finish within ${o.timeoutMs} ms`)), o.timeoutMs);
  try {
    o.log(`starting ${SPECIALISTS.length} specialists (key files in ${o.dir})`);
    const ready = await Promise.race([failed, Promise.all(SPECIALISTS.map((s) => new Promise<Extract<Report, { event: 'ready'; role: 'specialist' }>>((resolve) => {
      start(['specialist', s.name, join(o.dir, `${s.name}.key`)], (r) => {
        if (r.event === 'ready' && r.role === 'specialist') {
          const attrs = Object.entries(r.capability.attributes).map(([k, v]) => `${k}=${v}`).join(' ');
          o.log(`  ${r.name.padEnd(11)} ${r.address}  offers ${r.capability.name}${attrs ? ` {${attrs}}` : ''}  at udp ${r.endpoint.address}:${r.endpoint.port}`);
          resolve(r);
        }
      });
    })))]);
    o.log('starting the coordinator; it connects to each specialist directly (Noise IK, address binding verified)');
    const targets = ready.map((r) => ({ name: r.name, address: r.address, publicKey: r.publicKey, endpoint: r.endpoint, capability: r.capability }));
    let coordinator = '';
    const rows = await Promise.race([failed, new Promise<SummaryRow[]>((resolve) => {
      start(['coordinator', join(o.dir, 'coordinator.key'), JSON.stringify(targets), String(o.rounds)], (r) => {
        if (r.event === 'ready' && r.role === 'coordinator') { coordinator = r.address; o.log(`  coordinator ${r.address}`); }
        else if (r.event === 'connected') o.log(`  connected to ${r.name} ${r.address} in ${r.handshakeMs.toFixed(1)} ms (${r.path}, ${r.algorithm})`);
        else if (r.event === 'request') o.log(`    ${r.capability}(${JSON.stringify(r.input.length > 48 ? `${r.input.slice(0, 45)}...` : r.input)}) → ${JSON.stringify(r.output)}  ${r.rttMs.toFixed(2)} ms`);
        else if (r.event === 'failed') o.log(`    ${r.capability} request failed: ${r.error}`);
        else if (r.event === 'summary') resolve(r.rows);
      });
    })]);
    return { coordinator, rows };
  } finally {
    clearTimeout(timeout);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    stopAll();
    await Promise.all([...children].map((c) => new Promise((r) => c.once('exit', r))));
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
