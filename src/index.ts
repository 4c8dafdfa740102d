/**
 * hubless public API. Everything a user imports comes from here; internals stay in their folders.
 */
export {
  HublessError, hasCode, isHublessErrorCode, HUBLESS_ERROR_CODES, type HublessErrorCode, type HublessDemoErrorCode,
} from './errors.js';

// Identity and addresses
export {
  Address,
  SocketAddress,
  parseAddress,
  formatAddress,
  isValidAddress,
  parseSocketAddress,
  formatSocketAddress,
  NETWORK_BACKBONE,
  NODE_BROADCAST,
  NODE_UNSPECIFIED,
} from './identity/address.js';
export { Identity } from './identity/identity.js';
export { loadOrCreateIdentity, loadIdentity, createIdentityFile, defaultKeyPath } from './identity/keyfile.js';
export { isValidHostname, assertValidHostname } from './identity/hostname.js';
export { verifyBinding, deriveNodeId } from './identity/derive.js';

// The native data plane, for callers that manage keys themselves (sessions normally do that).
export {
  Transport,
  DatagramBatch,
  preferredAlgorithm,
  type TransportOptions,
  type SessionKeys,
  type SessionStats,
  type SocketStats,
  type ControlPacket,
  type AeadAlgorithm,
  type UdpEndpoint,
} from './transport/transport.js';

// Nodes and sessions: the hubless handshake (Noise IK) over the native data plane.
export { createNode, Node, type NodeEvents, type NodeStats, type NodeRequestOptions } from './node/node.js';
export type { NodeOptions, ConnectOptions, Firewall } from './node/options.js';
export { PortListener, STREAM_BACKLOG, type MessageHandler, type PortListenerEvents } from './node/port-listener.js';
export type { HandshakeCounters, DropCounters } from './node/counters.js';
export {
  Session,
  MAX_DATAGRAM_PAYLOAD,
  type Message,
  type SendOptions,
  type MessagesOptions,
  type OpenStreamOptions,
  type SessionEvents,
  type SessionStatsSnapshot,
} from './session/session.js';
// Streams on sessions: reliable, ordered, congestion-controlled; messages and request/response.
export { Stream, RESET_CODE_CANCELLED, RESET_CODE_REFUSED } from './stream/stream.js';
export { streamsOf, StreamHub, type StreamOptions } from './stream/hub.js';
export { DEFAULT_MAX_MESSAGE, type MessageOptions } from './stream/messages.js';
export {
  DEFAULT_REQUEST_TIMEOUT_MS, type RequestOptions, type HandleOptions, type RequestHandler, type RequestContext,
} from './stream/request.js';
export { PROTOCOL_NAME as HANDSHAKE_PROTOCOL } from './handshake/wire.js';
// For NodeOptions.bindingCache (share or size the cache of verified address bindings).
export { VerifiedBindingCache, type VerifiedBindingCacheOptions } from './identity/derive.js';

// The directory: signed agent records, capability search, presence, servers and stores.
export type { DirectoryNodeOptions } from './node/directory-options.js';
export type { DirectoryMembership, DirectoryFindResult } from './node/directory-membership.js';
export {
  DirectoryClient, DirectoryWatch, type DirectoryWatchEvent, type DirectoryWatchEvents, type DirectoryClientStats,
} from './directory/client.js';
export { parseEntry as parseDirectoryEntry, formatEntry as formatDirectoryEntry, type DirectoryEntry } from './directory/entry.js';
export {
  DirectoryServer, startDirectoryServer, openStore as openDirectoryStore, DEFAULT_DIRECTORY_PORT, type DirectoryServerOptions,
} from './directory/server.js';
export type { DirectoryServerStats, DirectoryRateLimits } from './directory/service.js';
export type { RateLimit } from './directory/rate-limit.js';
export { DIRECTORY_PORT, DIRECTORY_WATCH_PORT, DIRECTORY_LIMITS } from './directory/protocol.js';
export { Registration, type RecordFields } from './directory/registration.js';
export {
  DirectoryCodes, toA2ASkill, fromA2ASkill, validateCapability, signRecord, verifyRecord, checkBinding,
  LmdbDirectoryStore, openLmdbStore, RedisDirectoryStore, openRedisStore,
  type Capability, type A2ASkill, type AttributeValue, type AgentRecord, type SignedRecord, type Endpoint, type Visibility,
  type RecordInput, type RecordSigner, type DirectoryQuery, type CapabilityFilter, type AttributeFilter,
  type DirectoryStore, type ChangeEvent, type QueryPage,
} from './directory/index.js';
