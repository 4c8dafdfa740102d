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
  /** Parts of the session section to run. */
  sessionParts: string[];
  /** Client keys (one node each) for the handshake runs; first contact makes one handshake per key. */
  handshakeKeys: number;
  /** Seconds per repeat-handshake run. */
  handshakeSeconds: number;
  /** Most handshakes in flight. */
  handshakeConcurrency: number;
  /** Sample the handshake server's JS in an extra, unmeasured run. */
  profile: boolean;
  /** Measured round trips per RTT peer, after rttWarmup. */
  rttCount: number;
  rttWarmup: number;
  rttPeers: string[];
  /** RTT pinning: both processes on CPU 1, or client on 0 and server on 1. */
  rttCpus: 'same' | 'split';
  /** Idle sessions for the memory figures, and server nodes they are spread over. */
  idleSessions: number;
  idleServerNodes: number;
  /** Heap snapshots of the idle server before and after: which objects the sessions keep. */
  idleHeapClasses: boolean;
  /** Parts of the stream section, its peers, and the measured window after a warm-up (seconds). */
  streamParts: string[];
  streamPeers: string[];
  streamSeconds: number;
  streamWarmup: number;
  /** Streams on one session (connection) for the parallel part. */
  streamParallel: number;
  /** Fraction of packets the lossy link drops. */
  streamLoss: number;
  /** Idle streams on one session for the memory figures, and the peers measured beside hubless. */
  idleStreams: number;
  /** Parts of the directory section; seconds per measured run; agents; client processes; lookups in flight per process. */
  directoryParts: string[];
  directorySeconds: number;
  directoryAgents: number;
  directoryClients: number;
  /** Lookups in flight per client process, one lookup run per level: the first is the goal's, the last the saturation level. */
  directoryConcurrency: number[];
  /** Record counts for the directory memory figures, one fresh directory each. */
  directoryRecords: number[];
}

export const SECTIONS = ['datagram', 'aead', 'session', 'stream', 'directory'] as const;
export const DATAGRAM_PEERS = ['hubless', 'dgram-crypto', 'dgram', 'udx'] as const;
export const SESSION_PARTS = ['handshakes', 'rtt', 'idle'] as const;
export const RTT_PEERS = ['hubless', 'dgram', 'udx'] as const;
export const STREAM_PARTS = ['bulk', 'loss', 'parallel', 'idle'] as const;
export const STREAM_PEERS = ['hubless', 'udx', 'hyperdht', 'libp2p', 'tcp'] as const;
export const DIRECTORY_PARTS = ['registrations', 'lookups', 'memory'] as const;

export const HELP = `Usage: npm run bench -- [options]

Runs the hubless benchmarks against their peers, side by side in one run, prints one table per
section and writes every figure with a machine description to bench/results/<section>-<time>.json.

Sections:
  datagram   1200-byte datagrams between two processes on loopback, for: hubless (encrypted,
             1196-byte payloads), node:dgram + node:crypto AES-256-GCM per packet, plain
             node:dgram, udx-native (unencrypted). Each receiver verifies every payload.
  aead       seal/open MB/s of AES-256-GCM and ChaCha20-Poly1305 at 64 B, 1200 B and 64 KiB in the
             native addon's loop, against node:crypto with one cipher object per packet.
  session    hubless sessions (two processes on loopback), in three parts:
             handshakes: new sessions/s, first contact (the responder verifies the new key's
               address binding: one Argon2id) and repeat (known keys, fresh sessions), with and
               without cookie replies, CPU of each side, and a profile of the server;
             rtt: 64-byte request/response RTT p50/p99/mean over a session, against node:dgram
               and udx-native echo, one in flight;
             idle: RSS, JS heap and native memory per idle session with 10,000 sessions.
  stream     reliable streams between two processes, in four parts, for: hubless (encrypted),
             udx-native (plain), hyperdht (Noise, on its offline testnet), js-libp2p (TCP, Noise,
             yamux) and node:net TCP (plain, the kernel's reference):
             bulk: MB/s of goodput on one stream over loopback, CPU of each side;
             loss: the same over a veth pair between two network namespaces, without and with
               random loss (iptables statistic; needs root and ip netns, else skipped);
             parallel: aggregate MB/s of 16 streams on one session (connection);
             idle: JS heap, external and native memory per open idle stream, 10,000 on one session.
  directory  one directory process (embedded LMDB store in a temp dir) and client processes over
             hubless sessions on loopback, in three parts:
             registrations: re-registrations/s of many agents (records signed in the clients);
             lookups: node.find({ capability }) calls/s and p50/p99 from several clients;
             memory: RSS, JS heap and LMDB file per record for 100,000 and 1,000,000 records
               written straight into the store.

Options:
  --only LIST          sections to run, comma-separated (default: datagram,aead,session,stream);
                       section names alone work too: npm run bench -- stream
  --seconds N          how long each datagram sender sends (default: 5)
  --peers LIST         datagram peers to run (default: hubless,dgram-crypto,dgram,udx)
  --hubless-batch LIST payloads per Transport.send call; a list runs hubless once per value
                       (default: 256)
  --rounds N           run all datagram (and rtt) peers N times, round-robin; tables show each
                       peer's median round (by goodput; by p50 for rtt) (default: 1)
  --settle S           before each peer, wait up to S seconds for other processes on the machine
                       to go quiet (< 15% of a core); the load seen during each run is reported
                       either way (default: 30; 0: do not wait)
  --retries N          repeat a datagram run that other processes disturbed (> 15% of a core
                       busy meanwhile) up to N times, keeping the least disturbed (default: 2)
  --no-pin             do not pin processes to CPUs (datagram: sender 0, receiver 1; session:
                       see --rtt-cpus; handshakes: client 0, server 1)
  --aead-mb N          MB per AEAD case in the native loop (default: 256)
  --session-parts LIST parts of the session section (default: handshakes,rtt,idle)
  --handshake-keys N   client keys for the handshake runs; first contact is one handshake
                       per key (default: 200)
  --handshake-seconds S  seconds per repeat-handshake run (default: 5)
  --handshake-concurrency N  most handshakes in flight (default: 64)
  --no-profile         skip the profiled handshake run and the profiled directory lookup run
                       (where the server's time goes)
  --rtt-count N        measured round trips per rtt peer (default: 20000)
  --rtt-warmup N       round trips before measuring (default: 2000)
  --rtt-peers LIST     rtt peers (default: hubless,dgram,udx)
  --rtt-cpus same|split  pin both rtt processes to CPU 1 (same, default), or the client to
                       CPU 0 and the server to CPU 1 (split)
  --idle-sessions N    idle sessions for the memory figures (default: 10000)
  --idle-server-nodes N  server identities they are spread over; client keys = N sessions /
                       nodes (default: 20)
  --idle-heap-classes  also take heap snapshots of the idle server before and after and list the
                       objects the sessions keep, by constructor (slow: ~1 min more)
  --stream-parts LIST  parts of the stream section (default: bulk,loss,parallel,idle)
  --stream-peers LIST  stream peers (default: hubless,udx,hyperdht,libp2p,tcp; parallel and
                       idle leave out hyperdht, which has one connection per stream)
  --stream-seconds S   measured window per stream run, after the warm-up (default: 3)
  --stream-warmup S    warm-up before it: connection setup, slow start (default: 1)
  --stream-parallel N  streams on one session for the parallel part (default: 16)
  --stream-loss P      fraction of packets the lossy link drops (default: 0.01)
  --idle-streams N     idle streams on one session for the memory figures (default: 10000)
  --directory-parts LIST  parts of the directory section (default: registrations,lookups,memory)
  --directory-seconds S  measured window per registration/lookup run (default: 5)
  --directory-agents N   agent identities registering (one Argon2id each to make and one for the
                       directory to verify; default: 256); lookups match N/4 capabilities
  --directory-clients N  client processes, for registrations and for lookups (default: 2)
  --directory-concurrency LIST  lookups in flight per client process, one lookup run per level
                       (default: 32,128): the goal (p99 under load) is judged on the first,
                       the last shows the saturation throughput
  --directory-records LIST  record counts for the memory part, a fresh directory each
                       (default: 100000,1000000; 1,000,000 takes ~1-2 min)
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
    sessionParts: [...SESSION_PARTS],
    handshakeKeys: 200,
    handshakeSeconds: 5,
    handshakeConcurrency: 64,
    profile: true,
    rttCount: 20_000,
    rttWarmup: 2_000,
    rttPeers: [...RTT_PEERS],
    rttCpus: 'same',
    idleSessions: 10_000,
    idleServerNodes: 20,
    idleHeapClasses: false,
    streamParts: [...STREAM_PARTS],
    streamPeers: [...STREAM_PEERS],
    streamSeconds: 3,
    streamWarmup: 1,
    streamParallel: 16,
    streamLoss: 0.01,
    idleStreams: 10_000,
    directoryParts: [...DIRECTORY_PARTS],
    directorySeconds: 5,
    directoryAgents: 256,
    directoryClients: 2,
    directoryConcurrency: [32, 128],
    directoryRecords: [100_000, 1_000_000],
  };
  const positional: string[] = [];
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
      case '--session-parts': o.sessionParts = list(value()); break;
      case '--handshake-keys': o.handshakeKeys = positive('--handshake-keys', value(), true); break;
      case '--handshake-seconds': o.handshakeSeconds = positive('--handshake-seconds', value(), false); break;
      case '--handshake-concurrency': o.handshakeConcurrency = positive('--handshake-concurrency', value(), true); break;
      case '--no-profile': o.profile = false; break;
      case '--rtt-count': o.rttCount = positive('--rtt-count', value(), true); break;
      case '--rtt-warmup': {
        const v = value();
        o.rttWarmup = v === '0' ? 0 : positive('--rtt-warmup', v, true);
        break;
      }
      case '--rtt-peers': o.rttPeers = list(value()); break;
      case '--rtt-cpus': {
        const v = value();
        if (v !== 'same' && v !== 'split') throw new Error(`--rtt-cpus takes same or split, got ${v}`);
        o.rttCpus = v;
        break;
      }
      case '--idle-sessions': o.idleSessions = positive('--idle-sessions', value(), true); break;
      case '--idle-server-nodes': o.idleServerNodes = positive('--idle-server-nodes', value(), true); break;
      case '--idle-heap-classes': o.idleHeapClasses = true; break;
      case '--stream-parts': o.streamParts = list(value()); break;
      case '--stream-peers': o.streamPeers = list(value()); break;
      case '--stream-seconds': o.streamSeconds = positive('--stream-seconds', value(), false); break;
      case '--stream-warmup': o.streamWarmup = positive('--stream-warmup', value(), false); break;
      case '--stream-parallel': o.streamParallel = positive('--stream-parallel', value(), true); break;
      case '--stream-loss': o.streamLoss = positive('--stream-loss', value(), false); break;
      case '--idle-streams': o.idleStreams = positive('--idle-streams', value(), true); break;
      case '--directory-parts': o.directoryParts = list(value()); break;
      case '--directory-seconds': o.directorySeconds = positive('--directory-seconds', value(), false); break;
      case '--directory-agents': o.directoryAgents = positive('--directory-agents', value(), true); break;
      case '--directory-clients': o.directoryClients = positive('--directory-clients', value(), true); break;
      case '--directory-concurrency':
        o.directoryConcurrency = list(value()).map((v) => positive('--directory-concurrency', v, true));
        break;
      case '--directory-records':
        o.directoryRecords = list(value()).map((v) => positive('--directory-records', v, true));
        break;
      default:
        // Bare words name sections: `npm run bench -- stream` is `--only stream`.
        if (!raw.startsWith('-')) {
          positional.push(...list(raw));
          break;
        }
        throw new Error(`unknown option ${raw} (see --help)`);
    }
  }
  if (positional.length > 0) o.only = positional;
  for (const s of o.only) {
    if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`unknown section ${s}; known: ${SECTIONS.join(', ')}`);
  }
  for (const p of o.peers) {
    if (!(DATAGRAM_PEERS as readonly string[]).includes(p)) {
      throw new Error(`unknown datagram peer ${p}; known: ${DATAGRAM_PEERS.join(', ')}`);
    }
  }
  for (const p of o.sessionParts) {
    if (!(SESSION_PARTS as readonly string[]).includes(p)) throw new Error(`unknown session part ${p}; known: ${SESSION_PARTS.join(', ')}`);
  }
  for (const p of o.rttPeers) {
    if (!(RTT_PEERS as readonly string[]).includes(p)) throw new Error(`unknown rtt peer ${p}; known: ${RTT_PEERS.join(', ')}`);
  }
  for (const p of o.streamParts) {
    if (!(STREAM_PARTS as readonly string[]).includes(p)) throw new Error(`unknown stream part ${p}; known: ${STREAM_PARTS.join(', ')}`);
  }
  for (const p of o.streamPeers) {
    if (!(STREAM_PEERS as readonly string[]).includes(p)) throw new Error(`unknown stream peer ${p}; known: ${STREAM_PEERS.join(', ')}`);
  }
  for (const p of o.directoryParts) {
    if (!(DIRECTORY_PARTS as readonly string[]).includes(p)) throw new Error(`unknown directory part ${p}; known: ${DIRECTORY_PARTS.join(', ')}`);
  }
  if (o.directorySeconds > 600) throw new Error('--directory-seconds is at most 600');
  if (o.directoryAgents > 5000) throw new Error('--directory-agents is at most 5000 (each costs one Argon2id, twice)');
  if (o.directoryClients > 16) throw new Error('--directory-clients is at most 16');
  if (o.directoryConcurrency.length === 0 || o.directoryConcurrency.some((c) => c > 4096)) {
    throw new Error('--directory-concurrency takes levels of at most 4096');
  }
  for (const r of o.directoryRecords) if (r > 10_000_000) throw new Error('--directory-records is at most 10,000,000');
  if (o.streamSeconds > 600 || o.streamWarmup > 60) throw new Error('--stream-seconds is at most 600, --stream-warmup at most 60');
  if (o.streamParallel > 1024) throw new Error('--stream-parallel is at most 1024');
  if (o.streamLoss >= 1) throw new Error('--stream-loss is a fraction below 1');
  if (o.idleStreams > 60_000) throw new Error('--idle-streams is at most 60,000');
  if (o.handshakeKeys > 5000) throw new Error('--handshake-keys is at most 5000 (each costs one Argon2id, twice)');
  if (o.handshakeSeconds > 600) throw new Error('--handshake-seconds is at most 600');
  if (o.handshakeConcurrency > 1024) throw new Error('--handshake-concurrency is at most 1024');
  if (o.rttCount > 1e6 || o.rttWarmup > 1e6) throw new Error('--rtt-count and --rtt-warmup are at most 1,000,000');
  if (o.idleSessions > 200_000) throw new Error('--idle-sessions is at most 200,000');
  if (o.idleServerNodes > 1000) throw new Error('--idle-server-nodes is at most 1000');
  if (o.seconds > 600) throw new Error('--seconds is at most 600');
  if (o.retries > 10) throw new Error('--retries is at most 10');
  if (o.rounds > 20) throw new Error('--rounds is at most 20');
  if (o.settle > 600) throw new Error('--settle is at most 600');
  for (const b of o.hublessBatch) if (b > 4096) throw new Error('--hubless-batch is at most 4096');
  return o;
}
