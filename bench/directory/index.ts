/**
 * Section "directory" (issue 5, item 8): one directory process (the real DirectoryServer on an
 * embedded LMDB store in a temp directory, deleted afterwards) and separate client processes that
 * talk to it over the encrypted protocol, on loopback. Parts (--directory-parts):
 *
 * - registrations: `--directory-agents` agent identities (made before, one Argon2id each) spread
 *   over `--directory-clients` processes, one node and one session each on a shared socket. After
 *   an unmeasured first contact and first registration per agent, every agent re-registers in a
 *   loop for `--directory-seconds`: a record signed in the client with the next sequence number,
 *   one in flight per agent. The directory verifies each (schema, signature, owner, binding:
 *   cached) and commits it to LMDB (fsync before the answer; writes of one event turn share one).
 * - lookups: `--directory-clients` processes, one node each, keep `--directory-concurrency`
 *   node.find({ capability }) calls in flight, round-robin over the agents' capabilities (about 4
 *   records each). Clients verify every record they receive (identical bytes: a cache hit, after
 *   an unmeasured warm-up pass that checked each record's signature and binding once). One run
 *   per in-flight level (default 32 and 128 per process): the goal (a rate with p99 < 5 ms) is
 *   judged on the first, the goal level; the last, the saturation level, shows the most the
 *   clients and the directory do, at a latency that Little's law sets (mean latency = lookups in
 *   flight / lookups per second: 2 x 128 in flight at 50,000/s is 5.1 ms on average).
 * - memory: for each of `--directory-records` (100,000 and 1,000,000), a fresh directory process
 *   gets that many synthetic records written straight into its store (store.put in batches of
 *   5,000, one transaction each; no network); memory after full GCs before and after, and the
 *   LMDB file size.
 *
 * After setup the directory is pinned to CPU 1 and the clients to the other CPUs (taskset -a).
 * The directory's rate limits are raised far above the load (the defaults allow one key 2,000
 * reads/s). Unless --no-profile, an extra unmeasured lookup run samples the directory's JS.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from '../lib/args.js';
import type { ProfileSummary } from '../lib/cpu-profile.js';
import { Group } from '../lib/group.js';
import type { CpuLoad, Machine } from '../lib/machine.js';
import { Child, repoRoot, type ChildExtras, type Message } from '../lib/proc.js';
import { note } from '../lib/progress.js';
import { QUIET_PERCENT, settle } from '../lib/quiet.js';
import { num, table } from '../lib/table.js';
import { summarize, type CpuMs, type MemorySnapshot } from '../session/child-lib.js';
import { cpuMs, cpuPercent, otherCpu, withLoad } from '../session/parent-lib.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

/** Goals of issue 5. */
export const GOAL_LOOKUPS_PER_SECOND = 50_000;
export const GOAL_LOOKUP_P99_MS = 5;
export const GOAL_MILLION_RECORDS_BYTES = 2 ** 30;

type Latency = ReturnType<typeof summarize>;

interface ServerMeasure extends Message {
  cpu: CpuMs;
  seconds: number;
  answered: number;
  refused: Record<string, number>;
  requests: Record<string, number>;
  sessions: number;
  /** Changes of the directory's socket and stream-engine counters during the run. */
  wire: Record<string, number>;
}

interface ClientRun extends Message {
  completed: number;
  failed: number;
  errors: Record<string, number>;
  seconds: number;
  cpu: CpuMs;
  samples: string;
  records?: number;
}

export interface LoadRun {
  id: 'registrations' | 'lookups';
  label: string;
  processes: number;
  /** Registrations: agents (one in flight each); lookups: in flight per process. */
  inFlight: number;
  /**
   * Lookups: the goal level (the first --directory-concurrency level, on which the goal is
   * judged), the saturation level (the last) or one in between; null for registrations and for
   * a single level (both at once).
   */
  level: 'goal' | 'saturation' | 'between' | null;
  completed: number;
  failed: number;
  errors: Record<string, number>;
  seconds: number;
  perSecond: number;
  latencyUs: Latency;
  serverCpuPercent: number;
  /** completed / directory CPU seconds: what one fully busy directory core would do. */
  perServerCore: number;
  clientCpuPercent: number;
  recordsPerLookup: number | null;
  server: ServerMeasure;
  otherCpuPercent: number;
  machineLoad: CpuLoad;
}

export interface MemoryRun {
  records: number;
  fillSeconds: number;
  fillCpu: CpuMs;
  before: MemorySnapshot;
  after: MemorySnapshot;
  diskBytes: number;
  perRecord: { rss: number; rssAnon: number | null; heapUsed: number; external: number; disk: number };
}

export interface DirectorySection {
  pinned: boolean;
  agents: number;
  clients: number;
  /** Lookup in-flight levels per client process (--directory-concurrency), a run each. */
  concurrency: number[];
  capabilities: number;
  seconds: number;
  runs: LoadRun[];
  memory: MemoryRun[];
  profile: { seconds: number; completed: number; inFlight: number; summary: ProfileSummary } | null;
  errors: Record<string, string>;
  notes: string[];
}

/** bench/lib/group.ts's Group on this section's child script, a watchdog in every child's config. */
class DirectoryGroup extends Group {
  constructor() {
    super(CHILD, 10_000);
  }

  start(name: string, config: Record<string, unknown>, extras: ChildExtras = {}): Child {
    // HUBLESS_BENCH_CPU_PROF=<dir>: every child writes a V8 CPU profile there when it exits.
    const prof = process.env.HUBLESS_BENCH_CPU_PROF;
    const nodeArgs = [...(extras.nodeArgs ?? []), ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`, '--cpu-prof-interval', '250'] : [])];
    return this.spawn(name, { watchdogSeconds: 900, ...config }, null, { ...extras, nodeArgs });
  }
}

/** Pins every thread of a running child to a CPU list (`taskset -a -p -c`). */
function pinTo(c: Child, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(c.proc.pid)], { stdio: 'ignore', timeout: 5000 });
}

function decodeSamples(runs: ClientRun[]): Float64Array {
  const parts = runs.map((r) => {
    const b = Buffer.from(r.samples, 'base64');
    return new Float64Array(b.buffer, b.byteOffset, b.length / 8);
  });
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function mergeErrors(runs: ClientRun[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.errors)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export async function runDirectory(opts: BenchOptions, machine: Machine): Promise<DirectorySection> {
  const pin = opts.pin && machine.taskset && machine.cores >= 2;
  const clientCpus = machine.cores > 2 ? `0,2-${machine.cores - 1}` : '0';
  const capabilities = Math.max(1, Math.floor(opts.directoryAgents / 4));
  const out: DirectorySection = {
    pinned: pin, agents: opts.directoryAgents, clients: opts.directoryClients, concurrency: opts.directoryConcurrency,
    capabilities, seconds: opts.directorySeconds, runs: [], memory: [], profile: null, errors: {}, notes: [],
  };
  out.notes.push(pin ? `directory pinned to CPU 1, clients to CPU ${clientCpus} (all threads, after setup)` : 'processes not pinned');
  const wants = (p: string) => opts.directoryParts.includes(p);

  if (wants('registrations') || wants('lookups')) {
    const g = new DirectoryGroup();
    let dir: string | null = null;
    try {
      const server = g.start('directory', { role: 'server' }, { env: { UV_THREADPOOL_SIZE: '4' } });
      const sr = await g.guard(server.next<Message & { entry: string; dir: string }>('ready', 60_000));
      dir = sr.dir;
      const n = opts.directoryClients;
      const agentProcs: Child[] = [];
      const per = Math.ceil(opts.directoryAgents / n);
      for (let i = 0, first = 0; i < n && first < opts.directoryAgents; i++, first += per) {
        agentProcs.push(g.start(`agents ${i}`, {
          role: 'agents', count: Math.min(per, opts.directoryAgents - first), first, capabilities, entry: sr.entry,
        }, { env: { UV_THREADPOOL_SIZE: String(Math.max(4, machine.cores)) } }));
      }
      const lookupProcs = wants('lookups')
        ? Array.from({ length: n }, (_, i) => g.start(`lookups ${i}`, {
          role: 'lookups', entry: sr.entry, capabilities, concurrency: opts.directoryConcurrency[0],
        }))
        : [];
      const setupMs = 120_000 + opts.directoryAgents * 200;
      await g.guard(Promise.all([...agentProcs, ...lookupProcs].map((c) => c.next('ready', setupMs))));
      note(`[directory] ${opts.directoryAgents} agent identities ready; first contact and first registration of each`);
      await Promise.all(agentProcs.map((c) => g.call(c, 'connect', {}, setupMs)));
      if (lookupProcs.length > 0) {
        note(`[directory] lookup clients: warm-up pass over ${capabilities} capabilities (verifies each record once)`);
        await Promise.all(lookupProcs.map((c) => g.call(c, 'warm', {}, setupMs)));
      }
      if (pin) {
        pinTo(server, '1');
        for (const c of [...agentProcs, ...lookupProcs]) pinTo(c, clientCpus);
      }

      const measure = async (
        id: LoadRun['id'], label: string, procs: Child[], inFlight: number, level: LoadRun['level'] = null,
      ): Promise<LoadRun> => {
        const tag = `[directory] ${label}`;
        if (opts.settle > 0) await settle(tag, opts.settle);
        // Lookup clients take their in-flight level per run (agents have one registration each).
        const runArgs = id === 'lookups' ? { concurrency: inFlight } : {};
        // One unmeasured second first (JIT, buffers), then the measured window.
        await Promise.all(procs.map((c) => g.call(c, 'run', { seconds: 1, ...runArgs }, 120_000)));
        await g.call(server, 'mark', {}, 10_000);
        const { value: rs, load } = await withLoad(() => Promise.all(procs.map((c) =>
          g.call<ClientRun>(c, 'run', { seconds: opts.directorySeconds, ...runArgs }, (opts.directorySeconds + 120) * 1000))));
        const m = await g.call<ServerMeasure>(server, 'measure', {}, 10_000);
        const completed = rs.reduce((s, r) => s + r.completed, 0);
        const seconds = Math.max(...rs.map((r) => r.seconds));
        const clientMs = rs.reduce((s, r) => s + cpuMs(r.cpu), 0);
        const serverSeconds = cpuMs(m.cpu) / 1000;
        const records = rs.reduce((s, r) => s + (r.records ?? 0), 0);
        const run: LoadRun = {
          id, label, processes: procs.length, inFlight, level, completed,
          failed: rs.reduce((s, r) => s + r.failed, 0),
          errors: mergeErrors(rs),
          seconds,
          perSecond: completed / seconds,
          latencyUs: summarize(decodeSamples(rs)),
          serverCpuPercent: cpuPercent(m.cpu, m.seconds),
          perServerCore: serverSeconds > 0 ? completed / serverSeconds : 0,
          clientCpuPercent: (clientMs / 1000 / seconds) * 100,
          recordsPerLookup: id === 'lookups' && completed > 0 ? records / completed : null,
          server: m,
          otherCpuPercent: otherCpu(load, clientMs + cpuMs(m.cpu)),
          machineLoad: load,
        };
        note(`${tag}: ${num(run.perSecond, 0)}/s, p50 ${num(run.latencyUs.p50 / 1000, 2)} ms, p99 ${num(run.latencyUs.p99 / 1000, 2)} ms, ` +
          `directory CPU ${num(run.serverCpuPercent, 0)}% (${num(run.perServerCore, 0)} per directory core)` +
          (run.failed > 0 ? `, ${run.failed} failed ${JSON.stringify(run.errors)}` : ''));
        return run;
      };

      if (wants('registrations')) {
        try {
          out.runs.push(await measure('registrations', `registrations (${opts.directoryAgents} agents, 1 in flight each)`,
            agentProcs, opts.directoryAgents));
        } catch (e) {
          out.errors.registrations = (e as Error).message;
          note(`[directory] registrations failed: ${(e as Error).message}`);
        }
      }
      if (wants('lookups')) {
        try {
          const levels = opts.directoryConcurrency;
          for (let i = 0; i < levels.length; i++) {
            const level: LoadRun['level'] = levels.length === 1 ? null : i === 0 ? 'goal' : i === levels.length - 1 ? 'saturation' : 'between';
            const what = level === 'goal' ? 'goal level, ' : level === 'saturation' ? 'saturation, ' : '';
            out.runs.push(await measure('lookups', `capability lookups (${what}${n} clients x ${levels[i]} in flight)`,
              lookupProcs, levels[i], level));
          }
          if (opts.profile) {
            const seconds = Math.min(3, opts.directorySeconds);
            const inFlight = levels[levels.length - 1];
            note(`[directory] profiling the directory (unmeasured lookup run, ${n} clients x ${inFlight} in flight)`);
            await g.call(server, 'profileStart', {}, 10_000);
            const rs = await Promise.all(lookupProcs.map((c) =>
              g.call<ClientRun>(c, 'run', { seconds, concurrency: inFlight }, (seconds + 120) * 1000)));
            const save = path.join(repoRoot, 'bench/results', `directory-profile-${new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')}.cpuprofile.json`);
            mkdirSync(path.dirname(save), { recursive: true });
            const pr = await g.call<Message & { profile: ProfileSummary }>(server, 'profileStop', { save }, 60_000);
            out.profile = { seconds, completed: rs.reduce((s, r) => s + r.completed, 0), inFlight, summary: pr.profile };
          }
        } catch (e) {
          out.errors.lookups = (e as Error).message;
          note(`[directory] lookups failed: ${(e as Error).message}`);
        }
      }
    } catch (e) {
      out.errors.setup = (e as Error).message;
      note(`[directory] failed: ${(e as Error).message}`);
    } finally {
      await g.stop();
      if (dir !== null) rmSync(dir, { recursive: true, force: true });
    }
  }

  if (wants('memory')) {
    for (const records of opts.directoryRecords) {
      const g = new DirectoryGroup();
      let dir: string | null = null;
      try {
        const server = g.start(`directory (${records} records)`, { role: 'server' }, { nodeArgs: ['--expose-gc'] });
        const sr = await g.guard(server.next<Message & { dir: string }>('ready', 60_000));
        dir = sr.dir;
        const before = await g.call<Message & { memory: MemorySnapshot; diskBytes: number }>(server, 'memory', {}, 30_000);
        const fill = await g.call<Message & { seconds: number; cpu: CpuMs }>(server, 'fill', { count: records, batch: 5000 }, 900_000);
        const after = await g.call<Message & { memory: MemorySnapshot; diskBytes: number }>(server, 'memory', {}, 60_000);
        const per = (a: number, b: number) => (a - b) / records;
        const run: MemoryRun = {
          records, fillSeconds: fill.seconds, fillCpu: fill.cpu, before: before.memory, after: after.memory, diskBytes: after.diskBytes,
          perRecord: {
            rss: per(after.memory.rss, before.memory.rss),
            rssAnon: after.memory.rssAnon !== null && before.memory.rssAnon !== null ? per(after.memory.rssAnon, before.memory.rssAnon) : null,
            heapUsed: per(after.memory.heapUsed, before.memory.heapUsed),
            external: per(after.memory.external, before.memory.external),
            disk: per(after.diskBytes, before.diskBytes),
          },
        };
        out.memory.push(run);
        note(`[directory] memory: ${num(records, 0)} records in ${num(fill.seconds, 1)} s: RSS ${num(after.memory.rss / 2 ** 20, 0)} MiB, ` +
          `LMDB file ${num(after.diskBytes / 2 ** 20, 0)} MiB`);
      } catch (e) {
        out.errors[`memory ${records}`] = (e as Error).message;
        note(`[directory] memory (${records} records) failed: ${(e as Error).message}`);
      } finally {
        await g.stop();
        if (dir !== null) rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  return out;
}

export function formatDirectory(s: DirectorySection): string {
  const lines: string[] = [];
  if (s.runs.length > 0) {
    const header = ['run', 'completed', 's', 'per s', 'x goal', 'p50 ms', 'p99 ms', 'CPU directory %', 'per directory core',
      'CPU clients %', 'other CPU %'];
    const rows = s.runs.map((r) => [
      r.otherCpuPercent >= QUIET_PERCENT ? `${r.label} (*)` : r.label,
      num(r.completed, 0) + (r.failed > 0 ? ` (+${r.failed} failed)` : ''),
      num(r.seconds, 1),
      num(r.perSecond, 0),
      r.id === 'lookups' ? `${num(r.perSecond / GOAL_LOOKUPS_PER_SECOND, 2)}x` : '-',
      num(r.latencyUs.p50 / 1000, 2),
      num(r.latencyUs.p99 / 1000, 2),
      num(r.serverCpuPercent, 0),
      num(r.perServerCore, 0),
      num(r.clientCpuPercent, 0),
      num(r.otherCpuPercent, 0),
    ]);
    lines.push(
      `Directory: one directory process (LMDB store, fsync per commit) and client processes over hubless sessions on loopback ` +
        `(${s.notes.join('; ')})`,
      table(header, rows),
      '',
      'per s = completed / wall time; p50/p99 = each call in the client (register() / node.find()), under that load;',
      'per directory core = completed / the directory\'s CPU seconds (all threads). Registrations: every agent re-signs and',
      're-registers its record (next sequence number) in a loop; lookups: node.find({ capability }) matching',
      `~${num(s.runs.find((r) => r.id === 'lookups')?.recordsPerLookup ?? s.agents / s.capabilities, 1)} records of ${num(s.agents, 0)}, ` +
        'records verified by the client (cached after a warm-up pass). Each run follows 1 s of unmeasured warm-up.',
    );
    // The goal is judged on the first lookup level (the goal level): by Little's law, lookups in
    // flight = rate x mean latency, so a level high enough to saturate (e.g. 2 x 128: >= 5.1 ms
    // on average at 50,000/s) cannot show p99 < 5 ms, whatever the code does.
    const l = s.runs.find((r) => r.id === 'lookups');
    if (l !== undefined) {
      const met = l.perSecond >= GOAL_LOOKUPS_PER_SECOND && l.latencyUs.p99 < GOAL_LOOKUP_P99_MS * 1000;
      lines.push(`goal >= ${num(GOAL_LOOKUPS_PER_SECOND, 0)} capability lookups/s with p99 < ${GOAL_LOOKUP_P99_MS} ms ` +
        `(judged at ${l.processes} clients x ${l.inFlight} in flight): ` +
        `${num(l.perSecond, 0)}/s, p99 ${num(l.latencyUs.p99 / 1000, 2)} ms: ${met ? 'met' : 'NOT met'} ` +
        `(directory CPU ${num(l.serverCpuPercent, 0)}%: ${l.serverCpuPercent >= 90 ? 'the directory is the limit' : 'the clients are the limit'}; ` +
        `${num(l.perServerCore, 0)} lookups per directory CPU-second)`);
      const sat = s.runs.filter((r) => r.id === 'lookups' && r.level === 'saturation')[0];
      if (sat !== undefined) {
        const inFlight = sat.processes * sat.inFlight;
        lines.push(`saturation (${sat.processes} clients x ${sat.inFlight} in flight): ${num(sat.perSecond, 0)}/s, p99 ` +
          `${num(sat.latencyUs.p99 / 1000, 2)} ms; Little's law: ${num(inFlight, 0)} in flight / ${num(sat.perSecond, 0)} per s = ` +
          `${num((inFlight / Math.max(1, sat.perSecond)) * 1000, 2)} ms mean latency (not the goal's level: ${num(inFlight, 0)} in flight at ` +
          `${num(GOAL_LOOKUPS_PER_SECOND, 0)}/s is ${num((inFlight / GOAL_LOOKUPS_PER_SECOND) * 1000, 2)} ms on average)`);
      }
    }
    for (const r of s.runs) {
      const refused = Object.entries(r.server.refused);
      const n = Math.max(1, r.server.answered);
      const w = (k: string) => num((r.server.wire?.[k] ?? 0) / n, 2);
      const cpu = r.server.cpu;
      const which = r.level === null ? '' : r.level === 'goal' ? ' (goal level)' : r.level === 'saturation' ? ' (saturation)' : ` (${r.inFlight} in flight)`;
      lines.push(`  ${r.id}${which}: directory answered ${num(r.server.answered, 0)}` +
        (refused.length > 0 ? `, refused ${refused.map(([k, v]) => `${k} ${v}`).join(', ')}` : '') +
        (r.failed > 0 ? `; client errors ${JSON.stringify(r.errors)}` : ''));
      lines.push(`    per request the directory spent ${num((cpu.userMs * 1000) / n, 1)} µs user + ${num((cpu.systemMs * 1000) / n, 1)} µs system CPU, ` +
        `received ${w('transport.rxDatagrams')} datagrams (${w('transport.rxSyscalls')} recvmmsg), sent ${w('transport.txDatagrams')} ` +
        `in ${w('transport.txSyscalls')} send calls (ACK packets ${w('streams.acksOut')})`);
    }
    if (s.runs.some((r) => r.otherCpuPercent >= QUIET_PERCENT)) lines.push('(*) other processes took CPU during this run: its figures are low.');
  }
  if (s.profile !== null) {
    const p = s.profile;
    const per = (ms: number) => num((ms / Math.max(1, p.completed)) * 1000, 1).padStart(6);
    lines.push(
      '',
      `where the directory's time goes (sampling profile of its main thread, ${num(p.completed, 0)} lookups in ${num(p.seconds, 1)} s ` +
        `at ${num(p.inFlight, 0)} in flight per client, ` +
        `${num(p.summary.totalMs, 0)} ms busy, ${num(p.summary.idleMs, 0)} ms idle; a separate run):`,
      '  self time:',
      ...p.summary.self.map((e) => `    ${num(e.percent, 1).padStart(5)}%  ${per(e.ms)} µs/lookup  ${e.name}`),
      '  by innermost hubless function (with the library and native code it called):',
      ...p.summary.byHublessFunction.map((e) => `    ${num(e.percent, 1).padStart(5)}%  ${per(e.ms)} µs/lookup  ${e.name}`),
      ...(p.summary.file !== null ? [`  raw profile (Chrome DevTools): ${path.relative(process.cwd(), p.summary.file)}`] : []),
    );
  }
  if (s.memory.length > 0) {
    const mib = (b: number) => num(b / 2 ** 20, 0);
    const header = ['records', 'fill s', 'records/s', 'RSS MiB', 'RSS B/record', 'anon B/record', 'heap B/record', 'LMDB file MiB',
      'file B/record'];
    const rows = s.memory.map((m) => [
      num(m.records, 0), num(m.fillSeconds, 1), num(m.records / m.fillSeconds, 0), mib(m.after.rss),
      num(m.perRecord.rss, 0), num(m.perRecord.rssAnon, 0), num(m.perRecord.heapUsed, 0), mib(m.diskBytes), num(m.perRecord.disk, 0),
    ]);
    lines.push(
      '',
      'Directory memory: synthetic agent records (hostname, 2 capabilities, a group, 2 endpoints; ~300 bytes signed) written',
      'straight into a fresh directory\'s LMDB store (store.put, 5,000 per transaction); after full GCs. RSS includes the LMDB',
      'pages mapped and touched (file-backed); anon = RssAnon (JS heap, malloc). Per record = (after - before) / records.',
      table(header, rows),
    );
    const million = s.memory.find((m) => m.records >= 1_000_000);
    const biggest = s.memory[s.memory.length - 1];
    if (million !== undefined) {
      lines.push(`goal 1,000,000 records in <= 1 GiB: directory RSS ${mib(million.after.rss)} MiB, LMDB file ${mib(million.diskBytes)} MiB ` +
        `(${num(million.records, 0)} records): ${million.after.rss <= GOAL_MILLION_RECORDS_BYTES ? 'met' : 'NOT met'} (RSS)`);
    } else if (biggest !== undefined) {
      const est = biggest.after.rss + biggest.perRecord.rss * (1_000_000 - biggest.records);
      lines.push(`goal 1,000,000 records in <= 1 GiB: NOT measured (largest run ${num(biggest.records, 0)} records); ` +
        `linear estimate from it: RSS ${mib(est)} MiB`);
    }
  }
  for (const [k, v] of Object.entries(s.errors)) lines.push(`directory/${k} FAILED: ${v}`);
  return lines.join('\n');
}
