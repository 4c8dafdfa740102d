// The admission rules of a put, as one pure function so both stores apply the same ones
// (store-redis.ts mirrors it in Lua, where it must run atomically inside Redis).
import { DirectoryCodes, type DirectoryCode } from './codes.js';
import type { StoredRecord } from './paging.js';
import type { AgentRecord } from './record-types.js';

export function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

/**
 * Why `incoming` may not be stored, or undefined when it may.
 * @param existing the stored record with the same node id
 * @param hostHolder the record the hostname index points to, when that is another node id
 */
export function putConflict(
  incoming: AgentRecord,
  existing: StoredRecord | undefined,
  hostHolder: StoredRecord | undefined,
  now: number,
): DirectoryCode | undefined {
  if (existing) {
    const prev = existing.signed.record;
    if (sameKey(prev.publicKey, incoming.publicKey)) {
      // Same owner: only a newer record (replays and reordering are refused, even if expired).
      if (incoming.seq <= prev.seq) return DirectoryCodes.STALE_RECORD;
    } else if (existing.leaseUntil > now) {
      return DirectoryCodes.ADDRESS_TAKEN;
    }
  }
  if (incoming.hostname !== undefined && hostHolder) {
    const holder = hostHolder.signed.record;
    if (holder.hostname === incoming.hostname && hostHolder.leaseUntil > now && !sameKey(holder.publicKey, incoming.publicKey)) {
      return DirectoryCodes.HOSTNAME_TAKEN;
    }
  }
  return undefined;
}

export function conflictMessage(code: DirectoryCode, r: AgentRecord, storedSeq?: number): string {
  switch (code) {
    case DirectoryCodes.STALE_RECORD:
      return `record of ${r.address} has seq ${r.seq}, not above the stored ${storedSeq ?? '?'}`;
    case DirectoryCodes.ADDRESS_TAKEN:
      return `node id of ${r.address} is held by another key`;
    case DirectoryCodes.HOSTNAME_TAKEN:
      return `hostname ${r.hostname} is held by another key`;
    case DirectoryCodes.RECORD_EXPIRED:
      return `record of ${r.address} is expired (or its lease ends before now)`;
    default:
      return `record of ${r.address} refused`;
  }
}
