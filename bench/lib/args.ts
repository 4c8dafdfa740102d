/**
 * Command-line options for `npm run bench`. Parsed by hand (no dependency) and validated up front,
 * so a typo fails before anything is spawned.
 */

export interface BenchOptions {
  help: boolean;
  json: boolean;
  only: string[];
  /** Seconds each datagram sender sends for. */
  seconds: number;
  /** Datagram peers to run, in order. */
  peers: string[];
  /** Payloads handed to hubless's Transport.send per call; several values run hubless once each. */
  hublessBatch: number[];
  /** Rounds over all datagram peers (round-robin); the table shows each peer's median round. */
  rounds: number;
  /** Seconds to wait, before each peer, for other load on the machine to stop (0: do not wait). */
  settle: number;
  /** Times a datagram run disturbed by other processes is repeated. */
  retries: number;
  /** Pin sender and receiver to CPUs 0 and 1 with taskset (when taskset exists). */
  pin: boolean;
  /** Bytes per case for the native AEAD loop. */
  aeadBytes: number;
  /** Where the JSON goes; null: do not write a file. */
  outDir: string | null;
}

export const SECTIONS = ['datagram', 'aead'] as const;
export const DATAGRAM_PEERS = ['hubless', 'dgram-crypto', 'dgram', 'udx'] as const;

export const HELP = `Usage: npm run bench -- [options]

Runs the hubless benchmarks against their peers, side by side in one run, prints one table per
section and writes every figure with a machine description to bench/results/<section>-<time>.json.

Sections:
  datagram   1200-byte datagrams between two processes on loopback, for: hubless (encrypted,
             1196-byte payloads), node:dgram + node:crypto AES-256-GCM per packet, plain
             node:dgram, udx-native (unencrypted). Each receiver verifies every payload.
  aead       seal/open MB/s of AES-256-GCM and ChaCha20-Poly1305 at 64 B, 1200 B and 64 KiB in the
             native addon's loop, against node:crypto with one cipher object per packet.

Options:
  --only LIST          sections to run, comma-separated (default: datagram,aead)
  --seconds N          how long each datagram sender sends (default: 5)
  --peers LIST         datagram peers to run (default: hubless,dgram-crypto,dgram,udx)
  --hubless-batch LIST payloads per Transport.send call; a list runs hubless once per value
                       (default: 256)
  --rounds N           run all datagram peers N times, round-robin; tables show each peer's
                       median round (by goodput) and the range (default: 1)
  --settle S           before each peer, wait up to S seconds for other processes on the machine
                       to go quiet (< 15% of a core); the load seen during each run is reported
                       either way (default: 30; 0: do not wait)
  --retries N          repeat a datagram run that other processes disturbed (> 15% of a core
                       busy meanwhile) up to N times, keeping the least disturbed (default: 2)
  --no-pin             do not pin the sender to CPU 0 and the receiver to CPU 1
  --aead-mb N          MB per AEAD case in the native loop (default: 256)
  --out DIR            directory for the JSON (default: bench/results)
  --no-write           do not write the JSON file
  --json               print the JSON instead of the tables (progress still goes to stderr)
  -h, --help           this text
`;

function list(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

function positive(name: string, v: string | undefined, integer: boolean): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`${name} needs a positive ${integer ? 'integer' : 'number'}, got ${String(v)}`);
  }
  return n;
}

export function parseArgs(argv: string[]): BenchOptions {
  const o: BenchOptions = {
    help: false,
    json: false,
    only: [...SECTIONS],
    seconds: 5,
    peers: [...DATAGRAM_PEERS],
    hublessBatch: [256],
    rounds: 1,
    settle: 30,
    retries: 2,
    pin: true,
    aeadBytes: 256e6,
    outDir: 'bench/results',
  };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    const eq = raw.indexOf('=');
    const flag = raw.startsWith('--') && eq > 0 ? raw.slice(0, eq) : raw;
    const inline = raw.startsWith('--') && eq > 0 ? raw.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-h':
      case '--help': o.help = true; break;
      case '--json': o.json = true; break;
      case '--only': o.only = list(value()); break;
      case '--seconds': o.seconds = positive('--seconds', value(), false); break;
      case '--peers': o.peers = list(value()); break;
      case '--hubless-batch':
        o.hublessBatch = list(value()).map((v) => positive('--hubless-batch', v, true));
        break;
      case '--rounds': o.rounds = positive('--rounds', value(), true); break;
      case '--settle': {
        const v = value();
        o.settle = v === '0' ? 0 : positive('--settle', v, false);
        break;
      }
      case '--retries': {
        const v = value();
        o.retries = v === '0' ? 0 : positive('--retries', v, true);
        break;
      }
      case '--no-pin': o.pin = false; break;
      case '--aead-mb': o.aeadBytes = positive('--aead-mb', value(), false) * 1e6; break;
      case '--out': o.outDir = value(); break;
      case '--no-write': o.outDir = null; break;
      default: throw new Error(`unknown option ${raw} (see --help)`);
    }
  }
  for (const s of o.only) {
    if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`unknown section ${s}; known: ${SECTIONS.join(', ')}`);
  }
  for (const p of o.peers) {
    if (!(DATAGRAM_PEERS as readonly string[]).includes(p)) {
      throw new Error(`unknown datagram peer ${p}; known: ${DATAGRAM_PEERS.join(', ')}`);
    }
  }
  if (o.seconds > 600) throw new Error('--seconds is at most 600');
  if (o.retries > 10) throw new Error('--retries is at most 10');
  if (o.rounds > 20) throw new Error('--rounds is at most 20');
  if (o.settle > 600) throw new Error('--settle is at most 600');
  for (const b of o.hublessBatch) if (b > 4096) throw new Error('--hubless-batch is at most 4096');
  return o;
}
