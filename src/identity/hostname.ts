// Hostnames: human names a node may register in the directory (e.g. `summarizer`, `eu.build-1`).
// DNS-label rules in lowercase only, so a name has exactly one spelling and directory lookups can
// compare bytes: labels of 1–63 characters from [a-z0-9-], no hyphen at either end, joined by
// dots, 253 characters at most, no trailing dot. Strict validation rejects uppercase;
// normalizeHostname() is the lenient entry for user input.
import { HublessError } from '../errors.js';

export const HOSTNAME_MAX = 253;
export const HOSTNAME_LABEL_MAX = 63;
const LABEL_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why `name` is not a valid hostname, or undefined when it is. */
export function hostnameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'not a string';
  if (name.length === 0) return 'empty';
  if (name.length > HOSTNAME_MAX) return `longer than ${HOSTNAME_MAX} characters (${name.length})`;
  if (/[A-Z]/.test(name)) return 'contains uppercase letters (hostnames are lowercase)';
  if (name.endsWith('.')) return 'ends with a dot';
  for (const label of name.split('.')) {
    if (label.length === 0) return 'has an empty label (two dots in a row or a leading dot)';
    if (label.length > HOSTNAME_LABEL_MAX) return `label "${label.slice(0, 16)}…" is longer than ${HOSTNAME_LABEL_MAX} characters`;
    if (label.startsWith('-') || label.endsWith('-')) return `label "${label}" starts or ends with a hyphen`;
    if (!LABEL_RE.test(label)) return `label "${label}" may only contain a-z, 0-9 and "-"`;
  }
  return undefined;
}

export function isValidHostname(name: unknown): name is string {
  return hostnameProblem(name) === undefined;
}

/** Returns `name` unchanged, or throws ERR_HUBLESS_BAD_HOSTNAME saying what is wrong. */
export function assertValidHostname(name: unknown): string {
  const problem = hostnameProblem(name);
  if (problem !== undefined) {
    const shown = typeof name === 'string' ? ` ${JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name)}` : '';
    throw new HublessError('ERR_HUBLESS_BAD_HOSTNAME', `invalid hostname${shown}: ${problem}`);
  }
  return name as string;
}

/** For user input: lowercases (ASCII only), then validates strictly. Whitespace is not trimmed. */
export function normalizeHostname(name: string): string {
  return assertValidHostname(typeof name === 'string' ? name.replace(/[A-Z]+/g, (s) => s.toLowerCase()) : name);
}
