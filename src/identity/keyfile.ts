// The identity key file: JSON, version 1, mode 0600 (see docs/IDENTITY.md for the format).
//
// JSON rather than msgpack so that a person can see what a key file holds (`cat` shows the
// address inputs) and tools can read it without a hubless install. A file is only ever created
// whole (temp file, fsync, then link/rename, then fsync of the directory), so a crash never leaves
// a half-written key; a file that fails to load is reported and never rewritten.
import { constants as fsc } from 'node:fs';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { HublessError, hasCode } from '../errors.js';
import { Identity, SEED_BYTES } from './identity.js';
import { checkNonce, PUBLIC_KEY_BYTES } from './derive.js';
import { sodium } from '../sodium.js';

export const KEYFILE_FORMAT = 'hubless-identity';
export const KEYFILE_VERSION = 1;
const MAX_KEYFILE_BYTES = 64 * 1024;
const B64_32 = /^[A-Za-z0-9+/]{43}=$/; // exactly 32 bytes, canonical padding

export interface KeyFileV1 {
  format: typeof KEYFILE_FORMAT;
  version: 1;
  keyType: 'ed25519';
  /** Ed25519 seed (the secret), base64. */
  seed: string;
  /** Ed25519 public key, base64; must match the seed. */
  publicKey: string;
  /** Address nonce, kept for life. */
  nonce: number;
  /** Node id derived from (publicKey, nonce), 8 lowercase hex digits: a check and a human aid. */
  nodeId: string;
  /** ISO 8601 creation time, informational. */
  created: string;
}

export interface KeyFileOptions {
  /** Network of the loaded identity's address (default 0). Not stored in the file. */
  network?: number;
}

export interface CreateKeyFileOptions extends KeyFileOptions {
  /** Replace an existing file (atomically). Without it, an existing file is an error. */
  force?: boolean;
  /** Write this identity instead of generating a new one. */
  identity?: Identity;
}

/** `$HUBLESS_KEY_FILE`, else `~/.hubless/identity.key`. */
export function defaultKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.HUBLESS_KEY_FILE;
  return fromEnv ? fromEnv : join(homedir(), '.hubless', 'identity.key');
}

function corrupt(path: string, reason: string, cause?: unknown): HublessError {
  return new HublessError(
    'ERR_HUBLESS_KEYFILE_CORRUPT',
    `key file ${path} is unusable: ${reason}. It was left untouched; restore it from a backup or, ` +
      'to start over with a new identity and a new address, move it away and run `hubless keygen`',
    { cause },
  );
}

function io(path: string, action: string, cause: unknown): HublessError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new HublessError('ERR_HUBLESS_KEYFILE_IO', `cannot ${action} key file ${path}: ${detail}`, { cause });
}

/** Reads and checks a key file. Never modifies it. */
export async function loadIdentity(path: string, options: KeyFileOptions = {}): Promise<Identity> {
  let raw: Buffer;
  let fh;
  try {
    fh = await open(path, fsc.O_RDONLY);
  } catch (err) {
    if (hasErrno(err, 'ENOENT')) {
      throw new HublessError('ERR_HUBLESS_KEYFILE_NOT_FOUND', `no key file at ${path} (create one with \`hubless keygen\`)`, { cause: err });
    }
    throw io(path, 'open', err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw corrupt(path, 'not a regular file');
    // Like ssh: a secret key that others can read may already be copied; refuse it.
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new HublessError(
        'ERR_HUBLESS_KEYFILE_PERMISSIONS',
        `key file ${path} has mode ${mode}, so other users may read it; run \`chmod 600 ${path}\``,
      );
    }
    if (st.size > MAX_KEYFILE_BYTES) throw corrupt(path, `too large (${st.size} bytes)`);
    raw = await fh.readFile();
  } catch (err) {
    if (err instanceof HublessError) throw err;
    throw io(path, 'read', err);
  } finally {
    await fh.close();
  }
  try {
    return await decode(path, raw, options);
  } finally {
    raw.fill(0); // best effort: the JSON strings themselves stay in the JS heap until collected
  }
}

async function decode(path: string, raw: Buffer, options: KeyFileOptions): Promise<Identity> {
  if (raw.length === 0) throw corrupt(path, 'empty file');
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw corrupt(path, 'not valid JSON (truncated or garbage?)', err);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw corrupt(path, 'not a JSON object');
  const d = doc as Record<string, unknown>;
  if (d.format !== KEYFILE_FORMAT) throw corrupt(path, `"format" is not "${KEYFILE_FORMAT}"`);
  if (d.version !== KEYFILE_VERSION) {
    throw corrupt(path, `unsupported version ${JSON.stringify(d.version)} (this hubless reads version ${KEYFILE_VERSION})`);
  }
  if (d.keyType !== 'ed25519') throw corrupt(path, '"keyType" is not "ed25519"');
  if (typeof d.seed !== 'string' || !B64_32.test(d.seed)) throw corrupt(path, '"seed" is not 32 bytes of base64');
  if (typeof d.publicKey !== 'string' || !B64_32.test(d.publicKey)) {
    throw corrupt(path, '"publicKey" is not 32 bytes of base64');
  }
  try {
    checkNonce(d.nonce as number);
  } catch {
    throw corrupt(path, '"nonce" is not an integer in 0..4294967295');
  }
  if (typeof d.nodeId !== 'string' || !/^[0-9a-f]{8}$/.test(d.nodeId)) {
    throw corrupt(path, '"nodeId" is not 8 lowercase hex digits');
  }
  const seed = sodium.sodium_malloc(SEED_BYTES);
  seed.write(d.seed, 'base64');
  let identity: Identity;
  try {
    identity = await Identity.fromSecretKey(seed, { nonce: d.nonce as number, network: options.network });
  } catch (err) {
    if (hasCode(err, 'ERR_HUBLESS_RESERVED_NODE_ID')) throw corrupt(path, 'the nonce yields a reserved node id', err);
    throw err; // e.g. a bad network option: not the file's fault
  } finally {
    sodium.sodium_memzero(seed);
  }
  const storedPk = Buffer.from(d.publicKey, 'base64');
  if (storedPk.length !== PUBLIC_KEY_BYTES || !storedPk.equals(identity.publicKey)) {
    identity.destroy();
    throw corrupt(path, 'the stored public key does not match the secret key');
  }
  if (parseInt(d.nodeId, 16) !== identity.nodeId) {
    identity.destroy();
    throw corrupt(path, `the stored node id ${d.nodeId} does not match the one derived from the key and nonce`);
  }
  return identity;
}

function encode(identity: Identity): Buffer {
  const seed = identity.exportSeed();
  try {
    const doc: KeyFileV1 = {
      format: KEYFILE_FORMAT,
      version: KEYFILE_VERSION,
      keyType: 'ed25519',
      seed: seed.toString('base64'),
      publicKey: identity.publicKey.toString('base64'),
      nonce: identity.nonce,
      nodeId: identity.nodeId.toString(16).padStart(8, '0'),
      created: new Date().toISOString(),
    };
    return Buffer.from(`${JSON.stringify(doc, null, 2)}\n`, 'utf8');
  } finally {
    sodium.sodium_memzero(seed);
  }
}

/**
 * Writes a new key file (generating a new identity unless one is given) and returns the identity.
 * Fails with ERR_HUBLESS_KEYFILE_EXISTS if the file exists, unless `force`.
 */
export async function createIdentityFile(path: string, options: CreateKeyFileOptions = {}): Promise<Identity> {
  const identity = options.identity ?? (await Identity.generate({ network: options.network }));
  const data = encode(identity);
  try {
    await writeAtomically(path, data, options.force === true);
  } catch (err) {
    if (!options.identity) identity.destroy();
    throw err;
  } finally {
    data.fill(0);
  }
  return identity;
}

/** Loads the key file, creating it with a new identity on first start. */
export async function loadOrCreateIdentity(path: string = defaultKeyPath(), options: KeyFileOptions = {}): Promise<Identity> {
  try {
    return await loadIdentity(path, options);
  } catch (err) {
    if (!hasCode(err, 'ERR_HUBLESS_KEYFILE_NOT_FOUND')) throw err;
  }
  try {
    return await createIdentityFile(path, options);
  } catch (err) {
    // Another process created it between our load and our create: use theirs.
    if (hasCode(err, 'ERR_HUBLESS_KEYFILE_EXISTS')) return loadIdentity(path, options);
    throw err;
  }
}

async function writeAtomically(path: string, data: Buffer, overwrite: boolean): Promise<void> {
  const dir = dirname(path);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw io(path, 'create the directory of', err);
  }
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
    try {
      await fh.chmod(0o600); // the umask cannot widen 0600, but be explicit
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (overwrite) {
      await rename(tmp, path);
    } else {
      await linkNoClobber(tmp, path);
    }
    await syncDir(dir);
  } catch (err) {
    if (err instanceof HublessError) throw err;
    throw io(path, 'write', err);
  } finally {
    await unlink(tmp).catch(() => undefined); // gone already after a rename
  }
}

// link() fails with EEXIST instead of replacing: creation without a check-then-act race.
async function linkNoClobber(tmp: string, path: string): Promise<void> {
  try {
    await link(tmp, path);
    return;
  } catch (err) {
    if (hasErrno(err, 'EEXIST')) throw exists(path);
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].some((c) => hasErrno(err, c))) throw err;
  }
  // File systems without hard links: a small race window remains, acceptable there.
  const probe = await open(path, fsc.O_RDONLY).then((h) => h.close().then(() => true), () => false);
  if (probe) throw exists(path);
  await rename(tmp, path);
}

function exists(path: string): HublessError {
  return new HublessError(
    'ERR_HUBLESS_KEYFILE_EXISTS',
    `key file ${path} already exists; it holds this node's identity and address (use --force to replace it)`,
  );
}

async function syncDir(dir: string): Promise<void> {
  try {
    const h = await open(dir, fsc.O_RDONLY);
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // Some platforms cannot fsync a directory; the file itself is already synced.
  }
}

function hasErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
