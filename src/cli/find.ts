// `hubless find <capability>...`: agents offering capabilities, from the directory.
import { existsSync } from 'node:fs';
import { HublessError } from '../errors.js';
import type { Node } from '../node/node.js';
import { EXIT_FAILURE, EXIT_OK, fail, keyPath, printJson } from './common.js';
import { parseArgs } from 'node:util';

const HELP = `Usage: hubless find <capability> [<capability>...] [options]

Lists the agents that offer every given capability (or any of them with --any), from the
directory. Every record is verified (signature, key ↔ address binding) before it is shown.

Options:
  --attr <k=v>           attribute filter on the capabilities (repeatable); numbers and
                         true/false compare as such (k=10), quote to force a string (k="10")
  --any                  match any of the capabilities instead of all
  --group <g>            only agents in this group
  --limit <n>            at most n agents (default 50, at most 500)
  --directory <entry>    <public key>@<ip>:<port> of a directory (repeatable; default: $HUBLESS_DIRECTORY)
  --key <path>           identity to query with (default: the key file if it exists, else a throwaway one)
  --timeout <ms>         per directory, then the next one (default 700)
  --json                 machine-readable output on stdout
  -h, --help             show this help
`;

export const CLIENT_OPTIONS = {
  directory: { type: 'string', multiple: true },
  key: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export function parseWithPositionals<O extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: options!, allowPositionals: true, strict: true });
  } catch (err) {
    throw new HublessError('ERR_HUBLESS_USAGE', err instanceof Error ? err.message : String(err));
  }
}

/** A short-lived node that only queries the directory (it does not register). */
export async function openQueryNode(args: { directory?: string[]; key?: string; timeout?: string }): Promise<Node> {
  const entries = args.directory ?? (process.env.HUBLESS_DIRECTORY ? [process.env.HUBLESS_DIRECTORY] : []);
  const list = entries.flatMap((e) => e.split(/[\s,]+/).filter(Boolean));
  if (list.length === 0) throw new HublessError('ERR_HUBLESS_USAGE', 'no directory: pass --directory <key@ip:port> or set HUBLESS_DIRECTORY');
  const timeout = args.timeout === undefined ? undefined : Number(args.timeout);
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 10 || timeout > 600_000)) {
    throw new HublessError('ERR_HUBLESS_USAGE', '--timeout must be an integer number of ms in 10..600000');
  }
  const { createNode } = await import('../node/node.js');
  const { Identity } = await import('../identity/identity.js');
  const { loadIdentity } = await import('../identity/keyfile.js');
  const path = keyPath(args.key);
  const identity = args.key !== undefined || existsSync(path) ? await loadIdentity(path) : await Identity.generate();
  try {
    return await createNode({
      identity, listen: { host: '0.0.0.0', port: 0 }, directory: list, register: false,
      directoryOptions: timeout === undefined ? {} : { requestTimeoutMs: timeout },
    });
  } catch (err) {
    identity.destroy();
    throw err;
  }
}

/** `k=v` → [k, value]: numbers and booleans typed, "quoted" strings forced. */
export function parseAttr(text: string): [string, string | number | boolean] {
  const i = text.indexOf('=');
  if (i <= 0) throw new HublessError('ERR_HUBLESS_USAGE', `--attr must be key=value, got "${text}"`);
  const k = text.slice(0, i);
  const raw = text.slice(i + 1);
  if (/^".*"$/.test(raw)) return [k, raw.slice(1, -1)];
  if (raw === 'true' || raw === 'false') return [k, raw === 'true'];
  if (raw !== '' && /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/.test(raw)) return [k, Number(raw)];
  return [k, raw];
}

export async function run(argv: string[]): Promise<number> {
  let node: Node | undefined;
  try {
    const { values: args, positionals } = parseWithPositionals(argv, {
      ...CLIENT_OPTIONS,
      attr: { type: 'string', multiple: true },
      any: { type: 'boolean', default: false },
      group: { type: 'string' },
      limit: { type: 'string' },
    });
    if (args.help) {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    if (positionals.length === 0 && args.group === undefined) {
      throw new HublessError('ERR_HUBLESS_USAGE', 'name at least one capability (or --group)');
    }
    const attributes = Object.fromEntries((args.attr as string[] | undefined ?? []).map(parseAttr));
    const filters = positionals.map((name) => (Object.keys(attributes).length > 0 ? { name, attributes } : { name }));
    const limit = args.limit === undefined ? undefined : Number(args.limit);
    const query = {
      ...(args.any ? { anyOf: filters } : filters.length > 0 ? { allOf: filters } : {}),
      ...(args.group !== undefined ? { group: args.group as string } : {}),
      ...(limit !== undefined ? { limit } : {}),
    };
    node = await openQueryNode(args as { directory?: string[]; key?: string; timeout?: string });
    const { recordToJSON, formatCapability } = await import('../directory/record-json.js');
    const { records } = await node.find(query);
    if (args.json) printJson(records.map(recordToJSON));
    else if (records.length === 0) process.stdout.write('no agent found\n');
    else {
      for (const r of records) {
        const eps = r.endpoints.map((e) => (e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`)).join(' ');
        process.stdout.write(`${r.address}  ${r.hostname ?? '-'}  ${r.capabilities.map(formatCapability).join(' ')}  ${eps}\n`);
      }
    }
    return records.length === 0 && !args.json ? EXIT_FAILURE : EXIT_OK;
  } catch (err) {
    return fail('find', err);
  } finally {
    await node?.close();
  }
}
