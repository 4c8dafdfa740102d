/**
 * The demo specialists' real (small) work: an extractive summariser, a word-by-word English →
 * French translator with a small lexicon, and a safe arithmetic evaluator (no eval()).
 */
import { HublessError } from '../errors.js';

/** Picks the sentences with the most frequent content words, in their original order. */
export function summarize(text: string, maxSentences = 2): string {
  const sentences = text.match(/[^.!?]+[.!?]*/g)?.map((s) => s.trim()).filter(Boolean) ?? [];
  if (sentences.length <= maxSentences) return sentences.join(' ');
  const words = (s: string) => s.toLowerCase().match(/[a-z']+/g) ?? [];
  const freq = new Map<string, number>();
  for (const w of words(text)) if (!STOP.has(w)) freq.set(w, (freq.get(w) ?? 0) + 1);
  const scored = sentences.map((s, i) => {
    const ws = words(s).filter((w) => !STOP.has(w));
    const score = ws.reduce((a, w) => a + (freq.get(w) ?? 0), 0) / Math.max(1, ws.length);
    return { s, i, score };
  });
  return scored
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .slice(0, maxSentences)
    .sort((a, b) => a.i - b.i)
    .map((x) => x.s)
    .join(' ');
}

const STOP = new Set('a an and are as at be by for from has have in is it its of on or that the to was were will with this these those which who'.split(' '));

const LEXICON: Record<string, string> = {
  hello: 'bonjour', world: 'monde', the: 'le', a: 'un', agent: 'agent', agents: 'agents',
  network: 'réseau', message: 'message', is: 'est', are: 'sont', fast: 'rapide', secure: 'sûr',
  and: 'et', talk: 'parlent', directly: 'directement', to: 'à', each: 'chaque', other: 'autre',
  good: 'bon', morning: 'matin', friend: 'ami', friends: 'amis', we: 'nous', find: 'trouvons',
  you: 'vous', i: 'je', am: 'suis', here: 'ici', with: 'avec', without: 'sans', hub: 'concentrateur',
  no: 'pas de', data: 'données', key: 'clé', keys: 'clés', address: 'adresse', encrypted: 'chiffré',
};

/** Word-by-word translation; unknown words pass through in brackets so the gap is visible. */
export function translate(text: string, from = 'en', to = 'fr'): string {
  if (from !== 'en' || to !== 'fr') {
    throw new HublessError('ERR_HUBLESS_DEMO_UNSUPPORTED', `no lexicon for ${from} → ${to}`);
  }
  return text.replace(/[A-Za-z']+/g, (w) => {
    const t = LEXICON[w.toLowerCase()];
    if (t === undefined) return `[${w}]`;
    return w[0] === w[0].toUpperCase() ? t[0].toUpperCase() + t.slice(1) : t;
  });
}

/** Evaluates + - * / % ^ and parentheses over decimal numbers with a recursive-descent parser. */
export function evaluate(expression: string): number {
  if (expression.length > 512) throw new HublessError('ERR_HUBLESS_DEMO_INPUT', 'expression too long');
  const tokens = expression.match(/\d+(?:\.\d+)?|[-+*/%^()]|\S/g) ?? [];
  let pos = 0;
  const peek = () => tokens[pos];
  const fail = (msg: string): never => {
    throw new HublessError('ERR_HUBLESS_DEMO_INPUT', `${msg} in "${expression}"`);
  };
  const primary = (depth: number): number => {
    if (depth > 64) fail('nesting too deep');
    const t = tokens[pos++];
    if (t === undefined) return fail('unexpected end');
    if (t === '(') {
      const v = sum(depth + 1);
      if (tokens[pos++] !== ')') fail('missing )');
      return v;
    }
    if (t === '-') return -primary(depth + 1);
    if (t === '+') return primary(depth + 1);
    if (/^\d/.test(t)) return Number(t);
    return fail(`unexpected "${t}"`);
  };
  const power = (depth: number): number => {
    const base = primary(depth);
    if (peek() === '^') {
      pos++;
      return base ** power(depth + 1);
    }
    return base;
  };
  const product = (depth: number): number => {
    let v = power(depth);
    while (peek() === '*' || peek() === '/' || peek() === '%') {
      const op = tokens[pos++];
      const r = power(depth);
      v = op === '*' ? v * r : op === '/' ? v / r : v % r;
    }
    return v;
  };
  const sum = (depth: number): number => {
    let v = product(depth);
    while (peek() === '+' || peek() === '-') {
      const op = tokens[pos++];
      const r = product(depth);
      v = op === '+' ? v + r : v - r;
    }
    return v;
  };
  const v = sum(0);
  if (pos !== tokens.length) fail(`unexpected "${tokens[pos]}"`);
  return v;
}
