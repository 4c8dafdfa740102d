// Shared plumbing for `hubless` subcommands: argument parsing, key path, error reporting.
// Exit codes: 0 ok, 1 failure, 2 usage error.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { resolve } from 'node:path';
import { HublessError } from '../errors.js';
import { defaultKeyPath } from '../identity/keyfile.js';
import type { Identity } from '../identity/identity.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Options every identity command takes. */
export const KEY_OPTIONS = {
  key: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Options;

export const KEY_HELP = `  --key <path>     key file (default: $HUBLESS_KEY_FILE, else ~/.hubless/identity.key)
  --json           machine-readable output on stdout
  -h, --help       show this help`;

/** parseArgs that turns its errors into a usage HublessError. */
type Values<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: false; strict: true }>
>['values'];

export function parse<O extends Options>(argv: string[], options: O): Values<O> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values;
  } catch (err) {
    throw new HublessError('ERR_HUBLESS_USAGE', err instanceof Error ? err.message : String(err));
  }
}

export function keyPath(value: string | undefined): string {
  return resolve(value ?? defaultKeyPath());
}

/** Parses --network as a decimal 0..65535. */
export function networkOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^(0|[1-9][0-9]{0,4})$/.test(value) || Number(value) > 0xffff) {
    throw new HublessError('ERR_HUBLESS_USAGE', `--network must be a decimal number in 0..65535, got "${value}"`);
  }
  return Number(value);
}

/** Prints an error for the user and returns the exit code. */
export function fail(command: string, err: unknown): number {
  if (err instanceof HublessError) {
    process.stderr.write(`hubless ${command}: ${err.message} [${err.code}]\n`);
    if (err.code === 'ERR_HUBLESS_USAGE') {
      process.stderr.write(`try: hubless ${command} --help\n`);
      return EXIT_USAGE;
    }
    return EXIT_FAILURE;
  }
  process.stderr.write(`hubless ${command}: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`);
  return EXIT_FAILURE;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export interface IdentityReport {
  address: string;
  network: number;
  nodeId: string;
  publicKey: string;
  x25519PublicKey: string;
  nonce: number;
  keyFile: string;
}

export function report(identity: Identity, keyFile: string): IdentityReport {
  return {
    address: identity.address.toString(),
    network: identity.network,
    nodeId: identity.nodeId.toString(16).padStart(8, '0'),
    publicKey: identity.publicKey.toString('hex'),
    x25519PublicKey: identity.x25519PublicKey.toString('hex'),
    nonce: identity.nonce,
    keyFile,
  };
}

export function printReport(r: IdentityReport): void {
  process.stdout.write(
    `address     ${r.address}\n` +
      `public key  ${r.publicKey}\n` +
      `nonce       ${r.nonce}\n` +
      `key file    ${r.keyFile}\n`,
  );
}
