/**
 * hubless public API. Everything a user imports comes from here; internals stay in their folders.
 */
export { HublessError, hasCode, type HublessErrorCode } from './errors.js';

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
export { createNode, Node, type NodeEvents, type NodeStats } from './node/node.js';
export type { NodeOptions, ConnectOptions, Firewall } from './node/options.js';
export { PortListener, type MessageHandler } from './node/port-listener.js';
export type { HandshakeCounters, DropCounters } from './node/counters.js';
export {
  Session,
  MAX_DATAGRAM_PAYLOAD,
  type Message,
  type SendOptions,
  type MessagesOptions,
  type SessionEvents,
  type SessionStatsSnapshot,
} from './session/session.js';
export { PROTOCOL_NAME as HANDSHAKE_PROTOCOL } from './handshake/wire.js';
// For NodeOptions.bindingCache (share or size the cache of verified address bindings).
export { VerifiedBindingCache, type VerifiedBindingCacheOptions } from './identity/derive.js';
