// Capabilities: what an agent can do, as rich queryable records rather than free-text tags.
// Shaped after the A2A Agent Card `AgentSkill` (id, name, description, tags, examples) so a
// record exports to a card without loss; `version` and typed `attributes` (e.g. lang: 'en',
// maxTokens: 8192) are hubless additions that queries filter on. Since A2A skills have no
// field for them, toA2ASkill carries them in reserved tag forms (`@version=…`, `key=<json>`)
// that user tags cannot collide with (user tags may not contain "=" nor start with "@"),
// and fromA2ASkill restores them exactly.
import { DirectoryCodes, directoryError } from './codes.js';

export type AttributeValue = string | number | boolean;

export interface Capability {
  /** Dotted lowercase identifier: `summarize`, `math.eval`, `translate`. */
  name: string;
  version?: string;
  description?: string;
  tags?: string[];
  examples?: string[];
  attributes?: { [key: string]: AttributeValue };
}

/** The A2A Agent Card `AgentSkill` subset hubless produces. */
export interface A2ASkill {
  id: string;
  name: string;
  description: string;
  tags: string[];
  examples?: string[];
}

export const CAPABILITY_LIMITS = {
  nameLength: 64,
  versionLength: 32,
  descriptionLength: 1024,
  tags: 16,
  tagLength: 48,
  examples: 8,
  exampleLength: 256,
  attributes: 16,
  attributeKeyLength: 32,
  attributeStringLength: 256,
} as const;

const L = CAPABILITY_LIMITS;
const NAME_RE = /^[a-z][a-z0-9_-]*(?:\.[a-z][a-z0-9_-]*)*$/;
const VERSION_RE = /^[0-9A-Za-z][0-9A-Za-z.+_-]*$/;
const ATTR_KEY_RE = /^[a-z][a-zA-Z0-9_.-]*$/;
// Printable text without control characters (tabs/newlines allowed only in descriptions/examples).
const CONTROL_RE = /[\u0000-\u001f\u007f]/;
const CONTROL_EXCEPT_WS_RE = /[\u0000-\u0008\u000b-\u001f\u007f]/;
const VERSION_TAG = '@version=';

const bad = (msg: string) => directoryError(DirectoryCodes.BAD_CAPABILITY, msg);

export function capabilityNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0 || name.length > L.nameLength || !NAME_RE.test(name)) {
    return `capability name must be 1..${L.nameLength} chars of dotted lowercase segments like "math.eval"`;
  }
  return undefined;
}

export function attributeKeyProblem(key: string): string | undefined {
  if (key.length === 0 || key.length > L.attributeKeyLength || !ATTR_KEY_RE.test(key)) {
    return `attribute key ${JSON.stringify(key.slice(0, 40))} must be 1..${L.attributeKeyLength} of [a-zA-Z0-9_.-] starting with a-z`;
  }
  return undefined;
}

export function attributeValueProblem(value: unknown): string | undefined {
  if (typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'attribute numbers must be finite';
  if (typeof value === 'string') {
    return value.length <= L.attributeStringLength
      ? undefined
      : `attribute strings are limited to ${L.attributeStringLength} chars`;
  }
  return 'attribute values must be string, number or boolean';
}

function optText(v: unknown, what: string, max: number, re: RegExp | undefined, control: RegExp): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw bad(`${what} must be a string of 1..${max} chars`);
  if (control.test(v)) throw bad(`${what} contains control characters`);
  if (re && !re.test(v)) throw bad(`${what} has invalid syntax`);
  return v;
}

function textList(v: unknown, what: string, maxItems: number, check: (s: unknown, i: number) => string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > maxItems) throw bad(`${what} must be an array of at most ${maxItems} strings`);
  const out = v.map(check);
  return out.length === 0 ? undefined : out;
}

function isPlainObject(v: unknown): v is { [k: string]: unknown } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Validates untrusted input and returns the canonical capability: unknown fields are refused,
 * empty optional lists/maps are dropped and attributes are sorted by key (so two spellings of
 * one capability encode to the same bytes). Throws ERR_HUBLESS_BAD_CAPABILITY.
 */
export function validateCapability(input: unknown): Capability {
  if (!isPlainObject(input)) throw bad('capability must be an object');
  for (const k of Object.keys(input)) {
    if (!['name', 'version', 'description', 'tags', 'examples', 'attributes'].includes(k)) {
      throw bad(`unknown capability field ${JSON.stringify(k.slice(0, 40))}`);
    }
  }
  const nameProblem = capabilityNameProblem(input.name);
  if (nameProblem) throw bad(nameProblem);
  const out: Capability = { name: input.name as string };
  const version = optText(input.version, 'version', L.versionLength, VERSION_RE, CONTROL_RE);
  if (version !== undefined) out.version = version;
  const description = optText(input.description, 'description', L.descriptionLength, undefined, CONTROL_EXCEPT_WS_RE);
  if (description !== undefined) out.description = description;
  const tags = textList(input.tags, 'tags', L.tags, (t, i) => {
    const s = optText(t, `tags[${i}]`, L.tagLength, undefined, CONTROL_RE);
    if (s === undefined) throw bad(`tags[${i}] must be a string`);
    if (s.includes('=') || s.startsWith('@')) throw bad(`tags[${i}] may not contain "=" nor start with "@" (reserved for A2A export)`);
    return s;
  });
  if (tags) out.tags = tags;
  const examples = textList(input.examples, 'examples', L.examples, (t, i) => {
    const s = optText(t, `examples[${i}]`, L.exampleLength, undefined, CONTROL_EXCEPT_WS_RE);
    if (s === undefined) throw bad(`examples[${i}] must be a string`);
    return s;
  });
  if (examples) out.examples = examples;
  if (input.attributes !== undefined) {
    if (!isPlainObject(input.attributes)) throw bad('attributes must be a flat object');
    const keys = Object.keys(input.attributes).sort();
    if (keys.length > L.attributes) throw bad(`at most ${L.attributes} attributes`);
    if (keys.length > 0) {
      const attrs: { [key: string]: AttributeValue } = {};
      for (const k of keys) {
        const p = attributeKeyProblem(k) ?? attributeValueProblem(input.attributes[k]);
        if (p) throw bad(p);
        attrs[k] = input.attributes[k] as AttributeValue;
      }
      out.attributes = attrs;
    }
  }
  return out;
}

/** Positional form used inside the signed record encoding (see record-codec.ts). */
export type CapabilityTuple = [
  name: string,
  version: string | null,
  description: string | null,
  tags: string[],
  examples: string[],
  attributes: [string, AttributeValue][],
];

export function capabilityToTuple(c: Capability): CapabilityTuple {
  return [
    c.name,
    c.version ?? null,
    c.description ?? null,
    c.tags ?? [],
    c.examples ?? [],
    c.attributes ? Object.keys(c.attributes).map((k) => [k, c.attributes![k]] as [string, AttributeValue]) : [],
  ];
}

/** Inverse of capabilityToTuple for untrusted decoded data; throws ERR_HUBLESS_BAD_CAPABILITY. */
export function capabilityFromTuple(t: unknown): Capability {
  if (!Array.isArray(t) || t.length !== 6) throw bad('capability must be a 6-element array');
  const [name, version, description, tags, examples, attrs] = t as unknown[];
  if (!Array.isArray(attrs) || attrs.length > L.attributes) throw bad('attributes must be an array of pairs');
  // Null prototype: keys come from the wire, and are checked before use as property names.
  const attributes: { [key: string]: AttributeValue } = Object.create(null);
  for (const pair of attrs) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') throw bad('attribute must be a [key, value] pair');
    const p = attributeKeyProblem(pair[0]);
    if (p) throw bad(p);
    if (Object.prototype.hasOwnProperty.call(attributes, pair[0])) throw bad('duplicate attribute key');
    attributes[pair[0]] = pair[1] as AttributeValue;
  }
  return validateCapability({
    name,
    ...(version === null ? {} : { version }),
    ...(description === null ? {} : { description }),
    tags,
    examples,
    attributes,
  });
}

/** Exports a capability as an A2A `AgentSkill` (lossless: see fromA2ASkill). */
export function toA2ASkill(capability: Capability): A2ASkill {
  const c = validateCapability(capability);
  const tags = [...(c.tags ?? [])];
  if (c.version !== undefined) tags.push(VERSION_TAG + c.version);
  for (const [k, v] of Object.entries(c.attributes ?? {})) tags.push(`${k}=${JSON.stringify(v)}`);
  const skill: A2ASkill = { id: c.name, name: c.name, description: c.description ?? '', tags };
  if (c.examples) skill.examples = [...c.examples];
  return skill;
}

/** Reads back a skill produced by toA2ASkill (or any skill whose id is a valid capability name). */
export function fromA2ASkill(skill: A2ASkill): Capability {
  if (!isPlainObject(skill)) throw bad('skill must be an object');
  const tags: string[] = [];
  const attributes: { [key: string]: unknown } = Object.create(null);
  let version: string | undefined;
  for (const tag of Array.isArray(skill.tags) ? skill.tags : []) {
    if (typeof tag !== 'string') throw bad('skill tags must be strings');
    if (tag.startsWith(VERSION_TAG)) {
      version = tag.slice(VERSION_TAG.length);
      continue;
    }
    const eq = tag.indexOf('=');
    if (eq < 0) {
      tags.push(tag);
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(tag.slice(eq + 1));
    } catch {
      throw bad(`skill tag ${JSON.stringify(tag.slice(0, 60))} has an unparsable attribute value`);
    }
    const p = attributeKeyProblem(tag.slice(0, eq));
    if (p) throw bad(p);
    attributes[tag.slice(0, eq)] = value;
  }
  return validateCapability({
    name: skill.id,
    ...(version === undefined ? {} : { version }),
    ...(skill.description ? { description: skill.description } : {}),
    tags,
    ...(skill.examples === undefined ? {} : { examples: skill.examples }),
    attributes,
  });
}
