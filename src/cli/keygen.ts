// `hubless keygen`: create the identity key file (never silently replaces one: the file IS the
// node's address, and losing it means a new address).
import { createIdentityFile } from '../identity/keyfile.js';
import { EXIT_OK, fail, KEY_HELP, KEY_OPTIONS, keyPath, networkOption, parse, printJson, printReport, report } from './common.js';

const HELP = `Usage: hubless keygen [options]

Creates a new Ed25519 identity and writes it to the key file (mode 0600).
The key and its nonce determine the node's address for life.

Options:
${KEY_HELP}
  --force          replace an existing key file (the node gets a NEW address)
  --network <n>    network to show the address in (default 0; not stored)
`;

export async function run(argv: string[]): Promise<number> {
  try {
    const args = parse(argv, {
      ...KEY_OPTIONS,
      force: { type: 'boolean', default: false },
      network: { type: 'string' },
    });
    if (args.help) {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    const path = keyPath(args.key);
    const identity = await createIdentityFile(path, { force: args.force, network: networkOption(args.network) });
    const r = report(identity, path);
    identity.destroy();
    if (args.json) printJson({ created: true, ...r });
    else {
      process.stdout.write(`created ${path}\n`);
      printReport(r);
    }
    return EXIT_OK;
  } catch (err) {
    return fail('keygen', err);
  }
}
