// `hubless id`: show this node's address and public key from its key file (read-only).
import { loadIdentity } from '../identity/keyfile.js';
import { EXIT_OK, fail, KEY_HELP, KEY_OPTIONS, keyPath, networkOption, parse, printJson, printReport, report } from './common.js';

const HELP = `Usage: hubless id [options]

Prints the address, public key (hex), address nonce and key file path of this node.
Reads the key file; never creates or changes it (create one with \`hubless keygen\`).

Options:
${KEY_HELP}
  --network <n>    show the address in network n (default 0)
`;

export async function run(argv: string[]): Promise<number> {
  try {
    const args = parse(argv, { ...KEY_OPTIONS, network: { type: 'string' } });
    if (args.help) {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
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
