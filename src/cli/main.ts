#!/usr/bin/env node
// The `hubless` command. Subcommands are modules exporting `run(argv): Promise<number>`, loaded
// only when invoked so that `hubless id` does not pay for the directory or the native addon.
import { createRequire } from 'node:module';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface CommandModule {
  run(argv: string[]): Promise<number>;
}

interface CommandEntry {
  summary: string;
  load: () => Promise<CommandModule>;
}

// One line per command. Keep alphabetical.
export const COMMANDS: Record<string, CommandEntry> = {
  demo: { summary: 'run a local agent mesh: a directory, specialists and a coordinator on loopback', load: () => import('./demo.js') },
  directory: { summary: 'run a directory: agents register capabilities and find each other', load: () => import('./directory.js') },
  find: { summary: 'find agents by capability in the directory', load: () => import('./find.js') },
  id: { summary: "print this node's address, public key and nonce", load: () => import('./id.js') },
  keygen: { summary: 'create the identity key file', load: () => import('./keygen.js') },
  resolve: { summary: "print an agent's directory record by hostname or address", load: () => import('./resolve.js') },
};

function version(): string {
  try {
    // Same relative path from src/cli/ and dist/cli/.
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length)) + 2;
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`);
  return `Usage: hubless <command> [options]

Commands:
${lines.join('\n')}

Run \`hubless <command> --help\` for a command's options.
Options: -h, --help (this text), --version
`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(usage());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0] !== undefined) return main([rest[0], '--help']);
    process.stdout.write(usage());
    return 0;
  }
  if (name === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    process.stderr.write(`hubless: unknown command "${name}" [ERR_HUBLESS_USAGE]\n\n${usage()}`);
    return 2;
  }
  return (await entry.load()).run(rest);
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`hubless: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
