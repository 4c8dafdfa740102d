// Error codes of the Noise core. Codes are stable; messages are not.
import { HublessError } from '../../errors.js';

/** The protocol name is malformed or names a pattern, DH, cipher or hash this core lacks. */
export const ERR_NOISE_UNSUPPORTED = 'ERR_HUBLESS_NOISE_UNSUPPORTED' as const;
/** A handshake message failed: bad length, failed authentication, invalid (low-order) key. */
export const ERR_HANDSHAKE_FAILED = 'ERR_HUBLESS_HANDSHAKE_FAILED' as const;
/** The caller used the state out of order (write when a read is due, split before the end, ...). */
export const ERR_NOISE_STATE = 'ERR_HUBLESS_NOISE_STATE' as const;
/** A caller-supplied argument has the wrong type or length (keys, psk, payload size). */
export const ERR_NOISE_INVALID_ARGUMENT = 'ERR_HUBLESS_NOISE_INVALID_ARGUMENT' as const;
/** A transport CipherState failed to authenticate a ciphertext. */
export const ERR_NOISE_DECRYPT_FAILED = 'ERR_HUBLESS_NOISE_DECRYPT_FAILED' as const;
/** A CipherState reached nonce 2^64-1, which Noise reserves; rekey or start a new handshake. */
export const ERR_NOISE_NONCE_EXHAUSTED = 'ERR_HUBLESS_NOISE_NONCE_EXHAUSTED' as const;

export function handshakeFailed(message: string, cause?: unknown): HublessError {
  return new HublessError(ERR_HANDSHAKE_FAILED, message, cause === undefined ? undefined : { cause });
}

export function invalidArgument(message: string): HublessError {
  return new HublessError(ERR_NOISE_INVALID_ARGUMENT, message);
}

export function stateError(message: string): HublessError {
  return new HublessError(ERR_NOISE_STATE, message);
}
