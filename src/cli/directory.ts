// `hubless directory`: runs a directory node until SIGINT/SIGTERM.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { HublessError } from '../errors.js';
import { EXIT_OK, fail, parse } from './common.js';

const HELP = `Usage: hubless directory [options]

Runs a directory: agents register their capabilities here and find each other. It is a hubless
node itself: agents reach it over encrypted sessions and pin its public key. On start it prints
its entry, <public key>@<ip>:<port>, to give agents (--directory, or HUBLESS_DIRECTORY).

Options:
  --listen <host:port>   UDP socket to bind (default 0.0.0.0:4900; [::]:4900 for IPv6)
  --store <spec>         lmdb:<path> (default lmdb:~/.hubless/directory-db, embedded, crash-safe)
                         or redis://host:port[/db] (several replicas share one Redis)
  --key-file <path>      the directory's identity (default ~/.hubless/directory.key; created on first start)
  --lease <ms>           lease granted per registration or heartbeat (default 30000)
  --stats <seconds>      print counters this often (default: only at exit)
  --json                 JSON lines on stdout (listening, stats)
  -h, --help             show this help
`;

/** `host:port` or `[v6]:port`, strictly. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new HublessError('ERR_HUBLESS_USAGE', `--listen must be <ip>:<port> or [<ipv6>]:<port>, got "${text}"`);
  return { host: m[1] ?? m[2], port };
}

export async function run(argv: string[]): Promise<number> {
  let server: import('../directory/server.js').DirectoryServer | undefined;
  try {
    const args = parse(argv, {
      listen: { type: 'string', default: '0.0.0.0:4900' },
      store: { type: 'string' },
      'key-file': { type: 'string' },
      lease: { type: 'string' },
      stats: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    });
    if (args.help) {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    const listen = parseListen(args.listen);
    const leaseMs = args.lease === undefined ? undefined : Number(args.lease);
    if (leaseMs !== undefined && (!Number.isInteger(leaseMs) || leaseMs < 50 || leaseMs > 86_400_000)) {
      throw new HublessError('ERR_HUBLESS_USAGE', '--lease must be an integer number of ms in 50..86400000');
    }
    const statsEvery = args.stats === undefined ? 0 : Number(args.stats);
    if (!(statsEvery >= 0)) throw new HublessError('ERR_HUBLESS_USAGE', '--stats must be a number of seconds');
    const { startDirectoryServer, defaultDirectoryKeyPath } = await import('../directory/server.js');
    const keyFile = resolve(args['key-file'] ?? defaultDirectoryKeyPath());
    const created = !existsSync(keyFile);
    server = await startDirectoryServer({ keyFile, listen, store: args.store, leaseMs });
    const s = server;
    const info = {
      event: 'listening', entry: s.entry, publicKey: s.publicKey.toString('hex'), address: s.node.address.toString(),
      endpoint: s.endpoint, store: args.store ?? 'lmdb:~/.hubless/directory-db', keyFile, createdKey: created, pid: process.pid,
    };
    if (args.json) process.stdout.write(`${JSON.stringify(info)}\n`);
    else {
      process.stdout.write(
        `${created ? `created a new directory identity in ${keyFile}\n` : ''}` +
        `directory ${s.node.address.toString()} listening on ${s.endpoint.address}:${s.endpoint.port}\n` +
        `public key  ${info.publicKey}\n` +
        `entry       ${s.entry}\n` +
        `agents use: HUBLESS_DIRECTORY=${s.entry}\n`,
      );
    }
    const printStats = () => {
      const st = s.stats();
      if (args.json) process.stdout.write(`${JSON.stringify({ event: 'stats', ...st })}\n`);
      else {
        const refused = Object.entries(st.refused).map(([k, v]) => `${k.replace('ERR_HUBLESS_', '').toLowerCase()}=${v}`).join(' ') || 'none';
        const reqs = Object.entries(st.requests).filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
        process.stdout.write(`stats: sessions=${st.sessions} watches=${st.watches} requests: ${reqs}; refused: ${refused}\n`);
      }
    };
    const timer = statsEvery > 0 ? setInterval(printStats, statsEvery * 1000) : null;
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    if (timer) clearInterval(timer);
    printStats();
    await s.close();
    return EXIT_OK;
  } catch (err) {
    await server?.close().catch(() => {});
    return fail('directory', err);
  }
}
