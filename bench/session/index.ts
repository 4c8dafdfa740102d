/**
 * Section "session" (issue 3, item 7): new sessions per second, 64-byte request/response RTT
 * against node:dgram and udx-native echo, and memory per idle session, in one run. Each part is
 * its own module (handshakes.ts, rtt.ts, idle.ts); the processes they start are child.ts in one
 * of its roles (roles/*.ts). --session-parts picks the parts.
 */
import type { BenchOptions } from '../lib/args.js';
import type { Machine } from '../lib/machine.js';
import { note } from '../lib/progress.js';
import { formatHandshakes, runHandshakes, type HandshakeSection } from './handshakes.js';
import { formatIdle, runIdle, type IdleSection } from './idle.js';
import { formatRtt, runRtt, type RttSection } from './rtt.js';


export interface SessionSection {
  handshakes: HandshakeSection | null;
  rtt: RttSection | null;
  idle: IdleSection | null;
  /** A part that failed: its error, the other parts still run. */
  errors: Record<string, string>;
}

export async function runSession(opts: BenchOptions, machine: Machine): Promise<SessionSection> {
  const pin = opts.pin && machine.taskset;
  const out: SessionSection = { handshakes: null, rtt: null, idle: null, errors: {} };
  const attempt = async <T>(name: string, fn: () => Promise<T>): Promise<T | null> => {
    if (!opts.sessionParts.includes(name)) return null;
    try {
      return await fn();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      out.errors[name] = message;
      note(`[session] ${name} failed: ${message}`);
      return null;
    }
  };
  if (pin && machine.cores < 2) note('[session] fewer than 2 CPUs: pinning to CPUs 0 and 1 will fail');
  out.handshakes = await attempt('handshakes', () => runHandshakes(opts, pin, machine.cores));
  out.rtt = await attempt('rtt', () => runRtt(opts, pin));
  out.idle = await attempt('idle', () => runIdle(opts, machine.cores));
  return out;
}

export function formatSession(s: SessionSection): string {
  const parts: string[] = [];
  if (s.handshakes !== null) parts.push(formatHandshakes(s.handshakes));
  if (s.rtt !== null) parts.push(formatRtt(s.rtt));
  if (s.idle !== null) parts.push(formatIdle(s.idle));
  for (const [k, v] of Object.entries(s.errors)) parts.push(`session/${k} FAILED: ${v}`);
  return parts.join('\n\n');
}
