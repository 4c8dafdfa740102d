/**
 * What the demo's processes say to each other. Agents talk over hubless sessions: requests as
 * node.request / node.handle (one stream per request), documents on a long-lived stream of
 * messages. Each child reports to the orchestrator as JSON lines on stdout; the orchestrator
 * drives the coordinator's phases with IPC commands.
 */
export const SKILL_PORT = 100;
export const DOCS_PORT = 101;
export const MAX_INPUT_CHARS = 4096;

export interface Specialty {
  name: string;
  capability: { name: string; attributes: Record<string, string | number | boolean> };
}

export const SPECIALISTS: Specialty[] = [
  { name: 'summarizer', capability: { name: 'summarize', attributes: { lang: 'en' } } },
  { name: 'translator', capability: { name: 'translate', attributes: { from: 'en', to: 'fr' } } },
  { name: 'calculator', capability: { name: 'math.eval', attributes: {} } },
];

/** A skill request (node.request payload to SKILL_PORT). */
export interface SkillRequest {
  capability: string;
  input: string;
}

/** Checks a request's shape and size before any work is done on it. */
export function checkSkillRequest(x: unknown): SkillRequest | null {
  if (typeof x !== 'object' || x === null) return null;
  const o = x as Record<string, unknown>;
  if (typeof o.capability !== 'string' || typeof o.input !== 'string' || o.input.length > MAX_INPUT_CHARS) return null;
  return { capability: o.capability, input: o.input };
}

/** Orchestrator → coordinator commands (IPC). */
export type Command =
  | { cmd: 'round'; label: string; rounds: number }
  | { cmd: 'docs'; count: number }
  | { cmd: 'reach'; name: string }
  | { cmd: 'finish' };

/** A line a child prints for the orchestrator. */
export type Report =
  | { event: 'ready'; role: 'directory'; publicKey: string; endpoint: { address: string; port: number }; entry: string }
  | { event: 'ready'; role: 'specialist'; name: string; capability: Specialty['capability']; address: string; publicKey: string; endpoint: { address: string; port: number } }
  | { event: 'registered'; name: string; address: string; hostname: string; seq: number; endpoint: string }
  | { event: 'ready'; role: 'coordinator'; address: string }
  | { event: 'found'; capability: string; name: string; address: string; endpoint: string; attributes: Record<string, unknown> }
  | { event: 'connected'; name: string; address: string; lookupMs: number; handshakeMs: number; path: string; algorithm: string }
  | { event: 'request'; name: string; capability: string; input: string; output: string; rttMs: number }
  | { event: 'failed'; name: string; capability: string; error: string; code?: string }
  | { event: 'round'; label: string; ok: number; failed: number }
  | { event: 'docs'; name: string; documents: number; summaries: number; ms: number }
  | { event: 'reached'; name: string; address: string; before: string; endpoint: string; handshakeMs: number; output: string; rttMs: number }
  | { event: 'summary'; rows: SummaryRow[] }
  | { event: 'fatal'; error: string; code?: string };

export interface SummaryRow {
  name: string;
  address: string;
  capability: string;
  handshakeMs: number;
  requests: number;
  failures: number;
  p50Ms: number;
  p99Ms: number;
  bytesOut: number;
  bytesIn: number;
}

export function report(r: Report): void {
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
