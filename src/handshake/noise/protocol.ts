// Noise protocol names (spec rev 34, §8, §9, §11): `Noise_<pattern>_<dh>_<cipher>_<hash>`.
//
// This core implements the IK pattern and its psk variants (psk0, psk1, psk2, and combinations
// such as psk0+psk2, written in ascending order), over 25519, with AESGCM or ChaChaPoly and
// SHA256, SHA512, BLAKE2b or BLAKE2s. Anything else is ERR_HUBLESS_NOISE_UNSUPPORTED.
//
//   IK:
//     <- s
//     ...
//     -> e, es, s, ss
//     <- e, ee, se
//
// A pskN modifier puts a "psk" token at the start of message 1 (N = 0) or at the end of message
// N (N ≥ 1); with any psk token, "e" also calls MixKey(e.public_key) (§9.2).
import { HublessError } from '../../errors.js';
import { cipherByName, type CipherFunction } from './cipher.js';
import { ERR_NOISE_UNSUPPORTED } from './errors.js';
import { hashByName, type HashFunction } from './hash.js';

export type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss' | 'psk';

export interface NoiseProtocol {
  /** The full protocol name, e.g. `Noise_IK_25519_AESGCM_SHA256`. */
  readonly name: string;
  /** Base handshake pattern (only IK here). */
  readonly pattern: 'IK';
  /** Pattern modifiers, e.g. `['psk2']`. */
  readonly modifiers: readonly string[];
  /** True when any psk modifier is present (psk mode, §9.2). */
  readonly pskMode: boolean;
  /** How many psk tokens the pattern holds (the number of PSKs it needs). */
  readonly pskCount: number;
  readonly dh: '25519';
  readonly cipher: CipherFunction;
  readonly hash: HashFunction;
  /** Token list of each handshake message (index 0: initiator → responder). */
  readonly messages: readonly (readonly Token[])[];
  /**
   * h (and ck) right after InitializeSymmetric(name): the name padded with zeros when it fits in
   * HASHLEN, else HASH(name). Computed once per protocol; never mutate it.
   */
  readonly initialHash: Uint8Array;
}

const NAME_RE = /^Noise_IK((?:psk[0-9]+)(?:\+psk[0-9]+)*)?_([A-Za-z0-9/]+)_([A-Za-z0-9/]+)_([A-Za-z0-9/]+)$/;
const cache = new Map<string, NoiseProtocol>();

function unsupported(name: string, why: string): HublessError {
  return new HublessError(ERR_NOISE_UNSUPPORTED, `unsupported Noise protocol ${JSON.stringify(name)}: ${why}`);
}

/** Parses and validates a protocol name (results are cached per name). */
export function parseProtocolName(name: string): NoiseProtocol {
  if (typeof name !== 'string') throw unsupported(String(name), 'the protocol name must be a string');
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  const m = NAME_RE.exec(name);
  if (m === null) throw unsupported(name, 'expected Noise_IK[pskN]_25519_<AESGCM|ChaChaPoly>_<SHA256|SHA512|BLAKE2b|BLAKE2s>');
  const [, mods, dhName, cipherName, hashName] = m;
  if (dhName !== '25519') throw unsupported(name, `DH ${dhName} (only 25519)`);
  const cipher = cipherByName(cipherName);
  if (cipher === undefined) throw unsupported(name, `cipher ${cipherName} (AESGCM or ChaChaPoly)`);
  const hash = hashByName(hashName);
  if (hash === undefined) throw unsupported(name, `hash ${hashName} (SHA256, SHA512, BLAKE2b or BLAKE2s)`);

  const modifiers = mods === undefined ? [] : mods.split('+');
  const msg1: Token[] = ['e', 'es', 's', 'ss'];
  const msg2: Token[] = ['e', 'ee', 'se'];
  let last = -1;
  for (const mod of modifiers) {
    const pos = Number(mod.slice(3));
    if (!/^psk(0|[1-9][0-9]*)$/.test(mod) || pos > 2) throw unsupported(name, `modifier ${mod} (IK takes psk0, psk1, psk2)`);
    if (pos <= last) throw unsupported(name, 'psk modifiers must be distinct and in ascending order');
    last = pos;
    if (pos === 0) msg1.unshift('psk');
    else if (pos === 1) msg1.push('psk');
    else msg2.push('psk');
  }

  const nameBytes = Buffer.from(name, 'latin1');
  const initialHash = new Uint8Array(hash.hashLen);
  if (nameBytes.length <= hash.hashLen) initialHash.set(nameBytes);
  else hash.hash(initialHash, nameBytes);

  const proto: NoiseProtocol = Object.freeze({
    name,
    pattern: 'IK' as const,
    modifiers: Object.freeze(modifiers),
    pskMode: modifiers.length > 0,
    pskCount: modifiers.length,
    dh: '25519' as const,
    cipher,
    hash,
    messages: Object.freeze([Object.freeze(msg1), Object.freeze(msg2)]),
    initialHash,
  });
  cache.set(name, proto);
  return proto;
}
