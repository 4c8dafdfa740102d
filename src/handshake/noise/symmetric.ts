// Noise SymmetricState (spec rev 34, §5.2): chaining key ck, handshake hash h, and a CipherState.
import { CipherState, KEYLEN, type CipherFunction } from './cipher.js';
import { hkdf, type HashFunction } from './hash.js';
import { parseProtocolName, type NoiseProtocol } from './protocol.js';

const EMPTY = new Uint8Array(0);

export class SymmetricState {
  readonly hash: HashFunction;
  readonly cipherState: CipherState;
  /** Chaining key (HASHLEN bytes). */
  readonly ck: Uint8Array;
  /** Handshake hash (HASHLEN bytes). */
  readonly h: Uint8Array;
  private readonly slab: Uint8Array;
  private readonly t1: Uint8Array;
  private readonly t2: Uint8Array;
  /** Saved ck ‖ h and CipherState for save()/restore(), allocated on first use. */
  private saved: Uint8Array | null = null;
  private savedCipher: CipherState | null = null;

  /** InitializeSymmetric(protocol_name), from the protocol's precomputed initial hash. */
  constructor(protocol: NoiseProtocol | string) {
    const p = typeof protocol === 'string' ? parseProtocolName(protocol) : protocol;
    const hl = p.hash.hashLen;
    this.hash = p.hash;
    this.cipherState = new CipherState(p.cipher);
    // One allocation for all hash-sized state: ck, h and two HKDF outputs.
    this.slab = new Uint8Array(4 * hl);
    this.ck = this.slab.subarray(0, hl);
    this.h = this.slab.subarray(hl, 2 * hl);
    this.t1 = this.slab.subarray(2 * hl, 3 * hl);
    this.t2 = this.slab.subarray(3 * hl, 4 * hl);
    this.ck.set(p.initialHash);
    this.h.set(p.initialHash);
  }

  get cipher(): CipherFunction {
    return this.cipherState.cipher;
  }

  /** MixKey(ikm): ck, temp_k = HKDF(ck, ikm, 2); InitializeKey(temp_k truncated to 32 bytes). */
  mixKey(ikm: Uint8Array): void {
    hkdf(this.hash, this.ck, ikm, this.ck, this.t2);
    this.cipherState.initializeKey(this.t2);
    this.t2.fill(0);
  }

  /** MixHash(data): h = HASH(h ‖ data). */
  mixHash(data: Uint8Array): void {
    this.hash.hash(this.h, this.h, data);
  }

  /** MixKeyAndHash(ikm): ck, temp_h, temp_k = HKDF(ck, ikm, 3); MixHash(temp_h); InitializeKey(temp_k). */
  mixKeyAndHash(ikm: Uint8Array): void {
    hkdf(this.hash, this.ck, ikm, this.ck, this.t1, this.t2);
    this.mixHash(this.t1);
    this.cipherState.initializeKey(this.t2);
    this.t1.fill(0);
    this.t2.fill(0);
  }

  /** GetHandshakeHash(): a view of h (copy it if you keep it past further Mix calls). */
  getHandshakeHash(): Uint8Array {
    return this.h;
  }

  /** Bytes EncryptAndHash adds to a plaintext (16 once a key is set, else 0). */
  overhead(): number {
    return this.cipherState.overhead();
  }

  /** EncryptAndHash(plaintext) into `out` (exactly plaintext.length + overhead() bytes). */
  encryptAndHash(plaintext: Uint8Array, out: Uint8Array): void {
    this.cipherState.encryptInto(this.h, plaintext, out);
    this.mixHash(out);
  }

  /**
   * DecryptAndHash(ciphertext) into `out` (exactly ciphertext.length - overhead() bytes); false
   * when authentication fails (h is then unchanged).
   */
  decryptAndHash(ciphertext: Uint8Array, out: Uint8Array): boolean {
    if (!this.cipherState.decryptInto(this.h, ciphertext, out)) return false;
    this.mixHash(ciphertext);
    return true;
  }

  /** Split() as raw keys: temp_k1, temp_k2 = HKDF(ck, empty, 2), each truncated to 32 bytes. */
  splitKeys(): [Uint8Array, Uint8Array] {
    hkdf(this.hash, this.ck, EMPTY, this.t1, this.t2);
    const k1 = this.t1.slice(0, KEYLEN);
    const k2 = this.t2.slice(0, KEYLEN);
    this.t1.fill(0);
    this.t2.fill(0);
    return [k1, k2];
  }

  /** Split(): two CipherStates, the first for initiator → responder traffic. */
  split(): [CipherState, CipherState] {
    const [k1, k2] = this.splitKeys();
    const c1 = new CipherState(this.cipher, k1);
    const c2 = new CipherState(this.cipher, k2);
    k1.fill(0);
    k2.fill(0);
    return [c1, c2];
  }

  /** Remembers the whole state (ck, h, k, n), so that restore() can undo a failed step. */
  save(): void {
    const n = 2 * this.hash.hashLen;
    if (this.saved === null) {
      this.saved = new Uint8Array(n);
      this.savedCipher = new CipherState(this.cipher);
    }
    this.saved.set(this.slab.subarray(0, n));
    this.savedCipher!.copyFrom(this.cipherState);
  }

  /** Returns to the state of the last save(). */
  restore(): void {
    if (this.saved === null) return;
    this.slab.set(this.saved, 0);
    this.cipherState.copyFrom(this.savedCipher!);
  }

  /** Zeroes ck, h and the cipher key (and any saved copy). */
  destroy(): void {
    this.slab.fill(0);
    this.cipherState.destroy();
    this.saved?.fill(0);
    this.savedCipher?.destroy();
  }
}
