// Noise IK handshake core (Noise Protocol Framework, revision 34). See handshake.ts.
export {
  AESGCM,
  ChaChaPoly,
  CipherState,
  cipherByName,
  KEYLEN,
  TAGLEN,
  type CipherFunction,
  type CipherName,
} from './cipher.js';
export { BLAKE2b, BLAKE2s, SHA256, SHA512, hashByName, hkdf, type HashFunction, type HashName } from './hash.js';
export { DHLEN, StaticDhCache, dh, generateKeyPair, keyPairFromSecretKey, type EphemeralGenerator, type KeyPair } from './dh.js';
export { parseProtocolName, type NoiseProtocol, type Token } from './protocol.js';
export { SymmetricState } from './symmetric.js';
export {
  DEFAULT_PROTOCOL,
  HandshakeIK,
  MAX_MESSAGE_LEN,
  PSK_LEN,
  type HandshakeOptions,
  type PskSource,
  type SplitResult,
} from './handshake.js';
export {
  ERR_HANDSHAKE_FAILED,
  ERR_NOISE_DECRYPT_FAILED,
  ERR_NOISE_INVALID_ARGUMENT,
  ERR_NOISE_NONCE_EXHAUSTED,
  ERR_NOISE_STATE,
  ERR_NOISE_UNSUPPORTED,
} from './errors.js';
