// `hubless resolve <hostname|address>`: one agent's verified record, from the directory.
import { HublessError } from '../errors.js';
import type { Node } from '../node/node.js';
import { EXIT_OK, fail, printJson } from './common.js';
import { CLIENT_OPTIONS, openQueryNode, parseWithPositionals } from './find.js';

const HELP = `Usage: hubless resolve <hostname|address> [options]

Prints the directory's record of an agent: address, public key, endpoints, capabilities. The
record is verified (signature, key ↔ address binding) before it is shown. Exit 1 when there is none.

Options:
  --directory <entry>    <public key>@<ip>:<port> of a directory (repeatable; default: $HUBLESS_DIRECTORY)
  --key <path>           identity to query with (default: the key file if it exists, else a throwaway one)
  --timeout <ms>         per directory, then the next one (default 700)
  --json                 machine-readable output on stdout
  -h, --help             show this help
`;

export async function run(argv: string[]): Promise<number> {
  let node: Node | undefined;
  try {
    const { values: args, positionals } = parseWithPositionals(argv, CLIENT_OPTIONS);
    if (args.help) {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    if (positionals.length !== 1) throw new HublessError('ERR_HUBLESS_USAGE', 'give exactly one hostname or address');
    node = await openQueryNode(args as { directory?: string[]; key?: string; timeout?: string });
    const { recordToJSON, formatCapability } = await import('../directory/record-json.js');
    const r = await node.resolve(positionals[0]);
    if (args.json) printJson(recordToJSON(r));
    else {
      process.stdout.write(
        `address       ${r.address}\n` +
        `hostname      ${r.hostname ?? '-'}\n` +
        `public key    ${Buffer.from(r.publicKey).toString('hex')}\n` +
        `endpoints     ${r.endpoints.map((e) => `${e.host}:${e.port} (${e.kind})`).join(', ') || '-'}\n` +
        `capabilities  ${r.capabilities.map(formatCapability).join(' ') || '-'}\n` +
        `groups        ${r.groups.join(' ') || '-'}\n` +
        `visibility    ${r.visibility}\n` +
        `seq           ${r.seq}\n` +
        `expires       ${new Date(r.expiresAt).toISOString()}\n`,
      );
    }
    return EXIT_OK;
  } catch (err) {
    return fail('resolve', err);
  } finally {
    await node?.close();
  }
}
