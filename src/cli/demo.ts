// `hubless demo` (also `npm start`): a local agent mesh on loopback, no configuration needed.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatSummary, runDemo } from '../demo/orchestrator.js';
import { EXIT_FAILURE, EXIT_OK, fail, parse } from './common.js';
import { HublessError } from '../errors.js';

const HELP = `Usage: hubless demo [options]

Starts three specialist agents (summarize {lang: en}, translate {from: en, to: fr}, math.eval)
and a coordinator, each in its own process with its own key file, on loopback. The coordinator
connects to every specialist directly over an encrypted hubless session, sends it requests and
prints a summary. Every process it starts is stopped at the end, on Ctrl-C, or if one dies.

Options:
  --dir <path>      where the agents' key files live (default ~/.hubless/demo): same files, same addresses
  --rounds <n>      requests per specialist (default 20)
  --timeout <s>     give up after this many seconds (default 60)
  --json            print the summary as JSON on stdout (progress still goes to stderr)
  -h, --help        show this help
`;

export async function run(argv: string[]): Promise<number> {
  try {
    const args = parse(argv, {
      dir: { type: 'string' },
      rounds: { type: 'string', default: '20' },
      timeout: { type: 'string', default: '60' },
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
    const result = await runDemo({ dir, rounds, timeoutMs: timeout * 1000, log });
    if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else process.stdout.write(`\n${formatSummary(result.rows)}\n`);
    const failures = result.rows.reduce((a, r) => a + r.failures, 0);
    return failures === 0 ? EXIT_OK : EXIT_FAILURE;
  } catch (err) {
    return fail('demo', err);
  }
}
