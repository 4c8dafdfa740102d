// createNode() options for the directory: where it is, and what this node registers there.
import type { Capability } from '../directory/capability.js';
import type { DirectoryEntry } from '../directory/entry.js';
import type { VerifyBinding, Visibility } from '../directory/record-types.js';

export interface DirectoryNodeOptions {
  /**
   * Directories (replicas of one directory) to register with and look up in: `{ publicKey,
   * endpoint }` entries or `<hex key>@<ip>:<port>` strings, tried in order with failover. The
   * node pins each key: a directory that cannot prove it holds the key is never used.
   */
  directory?: readonly (DirectoryEntry | string)[] | string;
  /** What this node can do (names, or full capabilities with attributes), registered in its record. */
  capabilities?: readonly (Capability | string)[];
  /** A unique hostname in the directory (lowercase DNS labels). Taken by another key: createNode fails with ERR_HUBLESS_HOSTNAME_TAKEN. */
  hostname?: string;
  /** `public` (default) or `private`: a private record resolves only for this node and the `trust` keys. */
  visibility?: Visibility;
  groups?: readonly string[];
  /** Keys (32 bytes or 64 hex characters) that may resolve this node's private record. */
  trust?: readonly (Uint8Array | string)[];
  /** Register this node in the directory (default true when a directory is given). */
  register?: boolean;
  directoryOptions?: {
    /** Per directory and request, handshake included (ms; default 700), then the next replica. */
    requestTimeoutMs?: number;
    /** Signed lifetime of this node's record (ms; default 1 h); it is re-signed before it ends. */
    recordTtlMs?: number;
    /** A watch with no traffic (not even pings) for this long moves to the next replica (ms; default 3,000). */
    watchIdleMs?: number;
    /** Key ↔ address binding check for records received (default: the cached Argon2id check). */
    verifyBinding?: VerifyBinding;
  };
}
