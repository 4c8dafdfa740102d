/**
 * Where a process's time goes: the inspector's sampling profiler on its main thread, and a summary
 * of the profile by self time and by the innermost hubless source file:function on the stack.
 * Native code is charged to the JS function that called it. The raw profile can be saved for DevTools.
 */
import { writeFileSync } from 'node:fs';
import { Session as InspectorSession } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  name: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  /** Sampled time, idle samples included only with `idle: 'counted'`. */
  totalMs: number;
  /** Idle samples' time with `idle: 'apart'` (0 otherwise). */
  idleMs: number;
  /** Where the CPU was when sampled, by function; native code is named after the JS function that called it. */
  self: ProfileEntry[];
  /**
   * By the innermost hubless function on the stack: its own time plus everything it called that is
   * not itself a hubless function (node:crypto, sodium-native, Buffer, GC it triggered...).
   */
  byHublessFunction: ProfileEntry[];
  /** The raw profile (.cpuprofile, opens in Chrome DevTools), when saved. */
  file: string | null;
}

/** The inspector's sampling profiler on this thread, one run at a time. */
export class CpuProfiler {
  #session: InspectorSession | null = null;

  async start(intervalUs = 100): Promise<void> {
    this.#session = new InspectorSession();
    this.#session.connect();
    await this.#session.post('Profiler.enable');
    await this.#session.post('Profiler.setSamplingInterval', { interval: intervalUs });
    await this.#session.post('Profiler.start');
  }

  async stop(): Promise<CpuProfile> {
    if (this.#session === null) throw new Error('profiler not started');
    const { profile } = await this.#session.post('Profiler.stop');
    this.#session.disconnect();
    this.#session = null;
    return profile as unknown as CpuProfile;
  }
}

const repoUrl = new URL('../../', import.meta.url).href;
/** V8's own entries in a CPU profile (everything else without a script is native code). */
const PSEUDO = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

/** Function and file (line numbers are those of tsx's output, so they are left out for our own files). */
function frameName(f: { functionName: string; url: string }): string {
  const fn = f.functionName === '' ? '(anonymous)' : f.functionName;
  if (f.url === '') return fn;
  if (f.url.startsWith(repoUrl)) return `${fn} ${f.url.slice(repoUrl.length)}`;
  const url = (f.url.startsWith('file://') ? fileURLToPath(f.url) : f.url).replace(/^.*node_modules\//, '');
  return `${fn} ${url}`;
}

/**
 * `idle: 'apart'` leaves idle samples out of the percentages (reported as idleMs); `'counted'`
 * counts them as an entry '(idle)'. `save`: a path to write the raw profile to.
 */
export function summarizeProfile(p: CpuProfile, o: { idle: 'apart' | 'counted'; top: number; save?: string }): ProfileSummary {
  let file: string | null = null;
  if (o.save !== undefined) {
    writeFileSync(o.save, JSON.stringify(p));
    file = o.save;
  }
  const outside = o.idle === 'counted'
    ? '(outside hubless code: event loop, idle, GC between calls)'
    : '(outside hubless code: event loop, GC between calls)';
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const ours = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number): void => void m.set(k, (m.get(k) ?? 0) + v);
  let total = 0;
  let idle = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000; // the gap after sample i is sample i's time
    const leafId = p.samples[i];
    const leaf = byId.get(leafId)!;
    const isIdle = leaf.callFrame.functionName === '(idle)';
    if (isIdle && o.idle === 'apart') {
      idle += dt;
      continue;
    }
    total += dt;
    // Native code (no script) is charged to the JS function that called it: V8's names for native
    // callbacks are not reliable (sodium-native's all show up under one name).
    let name = frameName(leaf.callFrame);
    if (leaf.callFrame.url === '' && !PSEUDO.has(leaf.callFrame.functionName)) {
      let up = parent.get(leafId);
      while (up !== undefined && byId.get(up)!.callFrame.url === '') up = parent.get(up);
      name = up === undefined ? 'native code' : `native code called by ${frameName(byId.get(up)!.callFrame)}`;
    }
    add(self, name, dt);
    let id: number | undefined = leafId;
    let owner = outside;
    while (id !== undefined) {
      const f = byId.get(id)!.callFrame;
      if (f.url.startsWith(repoUrl) && f.url.includes('/src/')) {
        owner = frameName(f);
        break;
      }
      id = parent.get(id);
    }
    if (isIdle) owner = '(idle)';
    add(ours, owner, dt);
  }
  const list = (m: Map<string, number>): ProfileEntry[] => [...m.entries()]
    .sort((a, b) => b[1] - a[1]).slice(0, o.top)
    .map(([name, ms]) => ({ name, ms, percent: total > 0 ? (ms / total) * 100 : 0 }));
  return { totalMs: total, idleMs: idle, self: list(self), byHublessFunction: list(ours), file };
}
