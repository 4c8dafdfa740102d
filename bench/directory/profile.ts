/**
 * Where the directory's time goes: a summary of an inspector CPU profile of its main thread, by
 * self time and by the innermost hubless source file:function on the stack. Native code is
 * charged to the JS function that called it. The raw profile can be saved for DevTools.
 */
import { writeFileSync } from 'node:fs';
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
  totalMs: number;
  idleMs: number;
  self: ProfileEntry[];
  byHublessFunction: ProfileEntry[];
  /** The raw profile (.cpuprofile, opens in Chrome DevTools), when saved. */
  file: string | null;
}

const repoUrl = new URL('../../', import.meta.url).href;
const PSEUDO = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

function frameName(f: { functionName: string; url: string }): string {
  const fn = f.functionName === '' ? '(anonymous)' : f.functionName;
  if (f.url === '') return fn;
  if (f.url.startsWith(repoUrl)) return `${fn} ${f.url.slice(repoUrl.length)}`;
  const url = (f.url.startsWith('file://') ? fileURLToPath(f.url) : f.url).replace(/^.*node_modules\//, '');
  return `${fn} ${url}`;
}

export function summarizeProfile(p: CpuProfile, save?: string, top = 18): ProfileSummary {
  let file: string | null = null;
  if (save !== undefined) {
    writeFileSync(save, JSON.stringify(p));
    file = save;
  }
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const ours = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number): void => void m.set(k, (m.get(k) ?? 0) + v);
  let total = 0;
  let idle = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    const leafId = p.samples[i];
    const leaf = byId.get(leafId)!;
    if (leaf.callFrame.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    total += dt;
    let name = frameName(leaf.callFrame);
    if (leaf.callFrame.url === '' && !PSEUDO.has(leaf.callFrame.functionName)) {
      let up = parent.get(leafId);
      while (up !== undefined && byId.get(up)!.callFrame.url === '') up = parent.get(up);
      name = up === undefined ? 'native code' : `native code called by ${frameName(byId.get(up)!.callFrame)}`;
    }
    add(self, name, dt);
    let id: number | undefined = leafId;
    let owner = '(outside hubless code: event loop, GC between calls)';
    while (id !== undefined) {
      const f = byId.get(id)!.callFrame;
      if (f.url.startsWith(repoUrl) && f.url.includes('/src/')) {
        owner = frameName(f);
        break;
      }
      id = parent.get(id);
    }
    add(ours, owner, dt);
  }
  const list = (m: Map<string, number>): ProfileEntry[] => [...m.entries()]
    .sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([name, ms]) => ({ name, ms, percent: total > 0 ? (ms / total) * 100 : 0 }));
  return { totalMs: total, idleMs: idle, self: list(self), byHublessFunction: list(ours), file };
}
