// Stable error codes of the directory data layer. The directory server counts rejections by
// code, so each distinct reason a peer's input is refused gets its own code.
import { HublessError, type HublessErrorCode } from '../errors.js';

export const DirectoryCodes = {
  /** Malformed record: undecodable, wrong types, missing/extra fields, limits exceeded. */
  BAD_RECORD: 'ERR_HUBLESS_BAD_RECORD',
  /** Encoded record larger than MAX_RECORD_BYTES (checked before decoding). */
  RECORD_TOO_LARGE: 'ERR_HUBLESS_RECORD_TOO_LARGE',
  /** Ed25519 signature does not verify for the record's own public key. */
  BAD_SIGNATURE: 'ERR_HUBLESS_BAD_SIGNATURE',
  /** Record's expiry is in the past. */
  RECORD_EXPIRED: 'ERR_HUBLESS_RECORD_EXPIRED',
  /** Public key + nonce do not derive the record's address. */
  BAD_BINDING: 'ERR_HUBLESS_BAD_BINDING',
  /** Sequence number not greater than the stored one for the same key. */
  STALE_RECORD: 'ERR_HUBLESS_STALE_RECORD',
  /** A live record of another key holds the hostname. */
  HOSTNAME_TAKEN: 'ERR_HUBLESS_HOSTNAME_TAKEN',
  /** A live record of another key holds the node id. */
  ADDRESS_TAKEN: 'ERR_HUBLESS_ADDRESS_TAKEN',
  /** Invalid capability (name syntax, sizes, attribute types). */
  BAD_CAPABILITY: 'ERR_HUBLESS_BAD_CAPABILITY',
  /** Invalid or oversized query, or a cursor that does not belong to it. */
  BAD_QUERY: 'ERR_HUBLESS_BAD_QUERY',
  /** Invalid argument from the calling code (lease time, signal channel name). */
  BAD_ARGUMENT: 'ERR_HUBLESS_BAD_ARGUMENT',
  /** Operation on a closed store. */
  STORE_CLOSED: 'ERR_HUBLESS_STORE_CLOSED',
  /** The storage backend failed (I/O, Redis down): the operation may be retried. */
  STORE_FAILED: 'ERR_HUBLESS_STORE_FAILED',
} as const satisfies Record<string, HublessErrorCode>;

export type DirectoryCode = (typeof DirectoryCodes)[keyof typeof DirectoryCodes];

export function directoryError(code: DirectoryCode, message: string, cause?: unknown): HublessError {
  return new HublessError(code, message, cause === undefined ? undefined : { cause });
}
