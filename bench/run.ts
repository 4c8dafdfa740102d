/**
 * `npm run bench`: the single entry for every hubless benchmark. Each section lives in its own
 * module (bench/datagram/, bench/aead.ts, bench/session/, bench/stream/, bench/directory/) and exports run*(options) → a JSON-able result and
 * format*(result) → a plain-text table; add a section by adding one entry to SECTIONS below and
 * its name to lib/args.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatAead, runAead } from './aead.js';
import { formatDatagram, runDatagram, type DatagramSection } from './datagram/index.js';
import { formatDirectory, runDirectory, type DirectorySection } from './directory/index.js';
import { HELP, parseArgs, type BenchOptions } from './lib/args.js';
import { describeMachine, type Machine } from './lib/machine.js';
import { repoRoot } from './lib/proc.js';
import { note } from './lib/progress.js';
import { formatSession, runSession, type SessionSection } from './session/index.js';
import { formatStream } from './stream/format.js';
import { runStream, type StreamSection } from './stream/index.js';

interface Section {
  run(opts: BenchOptions, machine: Machine): Promise<unknown>;
  format(result: unknown): string;
}

const SECTIONS: Record<string, Section> = {
  datagram: {
    run: (o, m) => runDatagram(o, m.taskset),
    format: (r) => formatDatagram(r as DatagramSection),
  },
  aead: {
    run: (o) => runAead(o),
    format: (r) => formatAead(r as Awaited<ReturnType<typeof runAead>>),
  },
  session: {
    run: (o, m) => runSession(o, m),
    format: (r) => formatSession(r as SessionSection),
  },
  stream: {
    run: (o, m) => runStream(o, m),
    format: (r) => formatStream(r as StreamSection),
  },
  directory: {
    run: (o, m) => runDirectory(o, m),
    format: (r) => formatDirectory(r as DirectorySection),
  },
};

function machineLine(m: Machine): string {
  const gib = (m.totalMemoryBytes / 2 ** 30).toFixed(1);
  return [
    `${m.cpuModel}, ${m.cores} cores, ${gib} GiB, ${m.os} ${m.kernel}, node ${m.node}, libsodium ${m.sodiumVersion}`,
    `hubless: GSO ${m.hublessFeatures.gso ? 'on' : 'off'}, GRO ${m.hublessFeatures.gro ? 'on' : 'off'}, ` +
      `AES-GCM ${m.aesGcmAvailable ? 'available' : 'unavailable'}; rmem_max ${m.rmemMax}, wmem_max ${m.wmemMax}; ` +
      `git ${m.git.commit?.slice(0, 12) ?? '?'}${m.git.dirty ? ' (modified tree)' : ''}; addon ${m.addon.file ?? '?'}`,
  ].join('\n');
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const started = new Date();
  const machine = await describeMachine();
  note(`bench: ${opts.only.join(', ')} on ${machine.cpuModel} (${machine.cores} cores)`);
  const results: Record<string, unknown> = {};
  for (const name of opts.only) results[name] = await SECTIONS[name].run(opts, machine);

  const doc = {
    benchmark: 'hubless',
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    command: ['npm run bench --', ...process.argv.slice(2)].join(' '),
    options: opts,
    machine,
    results,
  };
  let file: string | null = null;
  if (opts.outDir !== null) {
    const dir = path.resolve(repoRoot, opts.outDir);
    mkdirSync(dir, { recursive: true });
    const stamp = started.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
    file = path.join(dir, `${opts.only[0]}-${stamp}.json`);
    writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
    note(`bench: results written to ${path.relative(process.cwd(), file)}`);
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    const parts = [machineLine(machine), ...opts.only.map((n) => SECTIONS[n].format(results[n]))];
    if (file !== null) parts.push(`JSON: ${path.relative(process.cwd(), file)}`);
    process.stdout.write(`\n${parts.join('\n\n')}\n`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
