// `hubless id`: show this node's address and public key from its key file (read-only).
// `hubless id --bench`: time the address derivation (Argon2id) on this machine.
import { cpus } from 'node:os';
import { HublessError } from '../errors.js';
import { measureDerivation } from '../identity/derive.js';
import { loadIdentity } from '../identity/keyfile.js';
import { EXIT_OK, fail, KEY_HELP, KEY_OPTIONS, keyPath, networkOption, parse, printJson, printReport, report } from './common.js';

const HELP = `Usage: hubless id [options]
       hubless id --bench [--runs <n>] [--json]

Prints the address, public key (hex), address nonce and key file path of this node.
Reads the key file; never creates or changes it (create one with \`hubless keygen\`).

Options:
${KEY_HELP}
  --network <n>    show the address in network n (default 0)
  --bench          instead, time the address derivation (Argon2id, the fixed parameters of
                   docs/IDENTITY.md) on this machine: random keys, one evaluation at a time on
                   one core; prints the parameters and ms per derivation (median of the runs).
                   Needs no key file.
  --runs <n>       evaluations to time with --bench (default 20, 1..10000), after one warm-up
`;

function runsOption(value: string | undefined): number {
  if (value === undefined) return 20;
  if (!/^[1-9][0-9]{0,4}$/.test(value) || Number(value) > 10_000) {
    throw new HublessError('ERR_HUBLESS_USAGE', `--runs must be an integer in 1..10000, got "${value}"`);
  }
  return Number(value);
}

function bench(runs: number, json: boolean): void {
  const m = measureDerivation(runs);
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  if (json) {
    printJson({ ...m, cpu, cpus: cpus().length, node: process.version });
    return;
  }
  process.stdout.write(
    `address derivation: Argon2id v1.3, opslimit ${m.opslimit}, memlimit ${m.memlimitBytes / (1024 * 1024)} MiB, ` +
      `salt BLAKE2b-128("${m.saltLabel}"), ${m.outputBytes}-byte output (node id = first 4 bytes)\n` +
      `${m.runs} runs, one at a time on one core (${cpu}, Node ${process.version}):\n` +
      `  median ${m.medianMs.toFixed(1)} ms per derivation, p90 ${m.p90Ms.toFixed(1)} ms, ` +
      `min ${m.minMs.toFixed(1)} ms, max ${m.maxMs.toFixed(1)} ms\n`,
  );
}

export async function run(argv: string[]): Promise<number> {
  try {
    const args = parse(argv, {
      ...KEY_OPTIONS, network: { type: 'string' }, bench: { type: 'boolean', default: false }, runs: { type: 'string' },
    });
    if (args.help) {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    if (args.bench) {
      if (args.key !== undefined || args.network !== undefined) {
        throw new HublessError('ERR_HUBLESS_USAGE', '--bench reads no key file: drop --key and --network');
      }
      bench(runsOption(args.runs), args.json);
      return EXIT_OK;
    }
    if (args.runs !== undefined) throw new HublessError('ERR_HUBLESS_USAGE', '--runs goes with --bench');
    const path = keyPath(args.key);
    const identity = await loadIdentity(path, { network: networkOption(args.network) });
    const r = report(identity, path);
    identity.destroy();
    if (args.json) printJson(r);
    else printReport(r);
    return EXIT_OK;
  } catch (err) {
    return fail('id', err);
  }
}
