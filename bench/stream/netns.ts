/**
 * A lossy link for every peer alike (the kernel here has no netem): two network namespaces joined
 * by a veth pair with 198.18.0.0/15 (benchmarking) addresses, and (setLoss) an iptables rule in
 * the receiver's namespace that drops incoming packets at random (`-m statistic --mode random`),
 * so data from sender to receiver loses that fraction and the reverse direction (ACKs) none.
 *
 * Both veth ends get gso_max_segs 1: otherwise TCP (TSO) and UDP (GSO) hand veth 64 KiB
 * super-packets that iptables would drop whole, dozens of segments at once; with it the kernel
 * segments before veth and every wire-sized packet meets the rule on its own.
 *
 * Namespaces are deleted (with their links and rules) on close, on any exit of the parent
 * (Ctrl-C included), and namespaces left by a run that was killed outright are removed at the
 * next start.
 */
import { execFileSync } from 'node:child_process';

export const SENDER_ADDRESS = '198.18.0.1';
export const RECEIVER_ADDRESS = '198.18.0.2';
const PREFIX = 'hubless-bench-';

export interface LossyLink {
  sender: string;
  receiver: string;
  /** Command prefix that runs a child in a namespace. */
  exec(ns: string): string[];
  /** Sets the fraction of packets the receiver's namespace drops (0: none; replaces the rule). */
  setLoss(loss: number): void;
  /** Packets the rule dropped so far. */
  dropped(): number;
  close(): void;
}

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

function inNs(ns: string, cmd: string[]): string {
  return ip(['netns', 'exec', ns, ...cmd]);
}

/** Why namespaces cannot be made here, or null when they can (probed by making and deleting one). */
export function netnsUnavailable(): string | null {
  const probe = `${PREFIX}probe-${process.pid}`;
  try {
    ip(['netns', 'add', probe]);
  } catch (e) {
    return `ip netns unavailable: ${firstLine(e)}`;
  }
  try {
    inNs(probe, ['iptables', '-L', 'INPUT', '-n']);
    return null;
  } catch (e) {
    return `iptables unavailable inside a namespace: ${firstLine(e)}`;
  } finally {
    try {
      ip(['netns', 'del', probe]);
    } catch {
      // nothing to do
    }
  }
}

function firstLine(e: unknown): string {
  const err = e as { stderr?: string; message?: string };
  return String(err.stderr || err.message || e).trim().split('\n')[0];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes namespaces of earlier runs whose process is gone (a SIGKILLed bench cleans nothing). */
function removeStale(): void {
  let list = '';
  try {
    list = ip(['netns', 'list']);
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0];
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (m !== null && !alive(Number(m[1]))) {
      try {
        ip(['netns', 'del', name]);
      } catch {
        // someone else removed it
      }
    }
  }
}

export function createLossyLink(): LossyLink {
  removeStale();
  const sender = `${PREFIX}${process.pid}-s`;
  const receiver = `${PREFIX}${process.pid}-r`;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    process.off('exit', close);
    for (const ns of [sender, receiver]) {
      try {
        ip(['netns', 'del', ns]);
      } catch {
        // not created
      }
    }
  };
  // 'exit' also runs on Ctrl-C: lib/proc.ts turns SIGINT/SIGTERM/SIGHUP into process.exit().
  process.on('exit', close);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(sig) === 0) process.once(sig, () => process.exit(130));
  }
  try {
    ip(['netns', 'add', sender]);
    ip(['netns', 'add', receiver]);
    ip(['link', 'add', 'hbs0', 'netns', sender, 'gso_max_segs', '1', 'type', 'veth',
      'peer', 'name', 'hbr0', 'netns', receiver, 'gso_max_segs', '1']);
    ip(['-n', sender, 'addr', 'add', `${SENDER_ADDRESS}/30`, 'dev', 'hbs0']);
    ip(['-n', receiver, 'addr', 'add', `${RECEIVER_ADDRESS}/30`, 'dev', 'hbr0']);
    for (const [ns, dev] of [[sender, 'hbs0'], [receiver, 'hbr0']]) {
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', ns, 'link', 'set', dev, 'up']);
    }
  } catch (e) {
    close();
    throw new Error(`could not set up the lossy link: ${firstLine(e)}`);
  }
  return {
    sender,
    receiver,
    exec: (ns) => ['ip', 'netns', 'exec', ns],
    setLoss(loss: number): void {
      inNs(receiver, ['iptables', '-F', 'INPUT']);
      if (loss > 0) {
        inNs(receiver, ['iptables', '-A', 'INPUT', '-i', 'hbr0', '-m', 'statistic', '--mode', 'random',
          '--probability', String(loss), '-j', 'DROP']);
      }
    },
    dropped: () => {
      try {
        const out = inNs(receiver, ['iptables', '-L', 'INPUT', '-v', '-n', '-x']);
        const row = out.split('\n').find((l) => l.includes('DROP'));
        return row === undefined ? 0 : Number(row.trim().split(/\s+/)[0]);
      } catch {
        return -1;
      }
    },
    close,
  };
}
