// Data layer of the directory: signed records, capabilities, queries and stores. Transport-
// independent: the directory server and client wire these onto hubless sessions.
export * from './codes.js';
export * from './capability.js';
export type * from './record-types.js';
export {
  RECORD_LIMITS, RECORD_TIME_DEFAULTS, SIGNATURE_DOMAIN, checkBinding, decodeRecord, defaultVerifyBinding,
  normalizeRecord, signRecord, signerFromSecretKey, verifyRecord, type SignOptions, type VerifyOptions,
} from './record.js';
export {
  QUERY_LIMITS, capabilityMatches, matches, queryFingerprint, validateQuery, visibleTo,
  type AttributeFilter, type CapabilityFilter, type DirectoryQuery, type NormalizedQuery, type RangeFilter, type ViewOptions,
} from './query.js';
export * from './store.js';
export { LmdbDirectoryStore, openLmdbStore, type LmdbStoreOptions } from './store-lmdb.js';
export { RedisDirectoryStore, openRedisStore, type RedisStoreOptions } from './store-redis.js';
