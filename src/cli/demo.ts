// `hubless demo` (also `npm start`): a local agent mesh on loopback, no configuration needed.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatSummary, runDemo } from '../demo/orchestrator.js';
import { EXIT_FAILURE, EXIT_OK, fail, parse } from './common.js';
import { HublessError } from '../errors.js';
import { parseEntry } from '../directory/entry.js';

const HELP = `Usage: hubless demo [options]

A local agent mesh on loopback, each agent in its own process with its own key file:
  - a directory on the embedded store (lmdb, in --dir);
  - three specialists that register capabilities with attributes: summarize {lang: en},
    translate {from: en, to: fr}, math.eval;
  - a coordinator that finds each capability through the directory, connects to the specialist
    directly (Noise IK, address binding verified) and sends it requests (request/response on
    streams, and a batch of documents on one stream).
Then it shows that there is no hub: it stops the directory and the requests keep working; it
restarts a specialist (same key file: same address, new port), brings the directory back, and
the coordinator reaches the specialist again. Ends with a summary. Every process it started is
stopped at the end, on Ctrl-C, or if one dies.

Options:
  --dir <path>         key files and the directory's store (default ~/.hubless/demo): same files, same addresses
  --rounds <n>         requests per specialist per round (default 20)
  --timeout <s>        give up after this many seconds (default 60)
  --directory <entry>  use this directory (<hex key>@<ip>:<port>) instead of starting one
                       (the stop/restart steps are skipped)
  --need <capability>  also find this capability (repeatable); nobody offers it: a clear error
  --json               print the summary as JSON on stdout (progress still goes to stderr)
  -h, --help           show this help
`;

/** The shell's convention for a process ended by SIGINT. */
const EXIT_INTERRUPTED = 130;

export async function run(argv: string[]): Promise<number> {
  try {
    const args = parse(argv, {
      dir: { type: 'string' },
      rounds: { type: 'string', default: '20' },
      timeout: { type: 'string', default: '60' },
      directory: { type: 'string' },
      need: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    });
    if (args.help) {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    const rounds = Number(args.rounds), timeout = Number(args.timeout);
    if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100_000) throw new HublessError('ERR_HUBLESS_USAGE', '--rounds must be an integer in 1..100000');
    if (!(timeout > 0)) throw new HublessError('ERR_HUBLESS_USAGE', '--timeout must be a positive number of seconds');
    const dir = resolve(args.dir ?? join(homedir(), '.hubless', 'demo'));
    const log = (line: string) => process.stderr.write(`${line}\n`);
    if (args.directory !== undefined) parseEntry(args.directory);  // a usage error before anything starts
    const needs = args.need ?? [];
    for (const n of needs) if (!/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(n)) throw new HublessError('ERR_HUBLESS_USAGE', `--need "${n}" is not a capability name`);
    const result = await runDemo({ dir, rounds, timeoutMs: timeout * 1000, directory: args.directory, needs, log });
    if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else process.stdout.write(`\n${formatSummary(result.rows)}\n`);
    const failures = result.rows.reduce((a, r) => a + r.failures, 0);
    return failures === 0 ? EXIT_OK : EXIT_FAILURE;
  } catch (err) {
    if ((err as HublessError).code === 'ERR_HUBLESS_DEMO_INTERRUPTED') return EXIT_INTERRUPTED;  // said so already
    return fail('demo', err);
  }
}
