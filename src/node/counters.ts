// Node-level handshake counters and drop reasons (node.stats()). Every packet a node drops is
// counted under exactly one reason.

export interface HandshakeCounters {
  initiationsSent: number;
  /** Initiations sent again (timer or cookie), included in initiationsSent. */
  initiationsRetransmitted: number;
  initiationsReceived: number;
  responsesSent: number;
  responsesReceived: number;
  cookieRepliesSent: number;
  cookieRepliesReceived: number;
  /** Handshakes that ended in installed keys (new sessions and rekeys, both roles). */
  completed: number;
  sessionsOpened: number;
  sessionsClosed: number;
  /** Key changes of existing sessions (both roles). */
  rekeys: number;
  timeouts: number;
  keepalivesSent: number;
  keepalivesReceived: number;
  /** Handshakes started because data went unanswered for 1.5 × keepaliveMs. */
  deadPeerChecks: number;
  /** Unexpected exceptions while processing a handshake (a bug if ever non-zero). */
  errors: number;
}

export interface DropCounters {
  /** Wrong size or structure, before any cryptography (also non-handshake control packets). */
  malformed: number;
  /** mac1 did not verify. */
  mac1: number;
  /** Under load without a valid mac2: answered with a cookie reply, nothing kept. */
  cookieRequired: number;
  /** Noise rejected the message. */
  decrypt: number;
  /** Decrypted payload malformed, or no AEAD in common. */
  payload: number;
  /** Payload's Ed25519 key does not match the Noise static key. */
  keyMismatch: number;
  /** Initiation timestamp not newer than the last accepted from that key. */
  replay: number;
  /** Refused by the allow-list or the firewall. */
  refused: number;
  /** The initiator's address claim (key, nonce) yields a reserved node id. */
  binding: number;
  /** Too many address-binding verifications in flight, or the session table is full. */
  busy: number;
  /** Under load, the source address already used its budget of address-binding verifications. */
  sourceBusy: number;
  /** Simultaneous open: the peer's initiation lost the tie-break (ours goes on). */
  simultaneous: number;
  /** A later initiation from the same key overtook this one while it was being checked. */
  superseded: number;
  /** A rekey initiation for a session this node does not have. */
  noSession: number;
  /** A response or cookie reply for no handshake in progress. */
  unknownReceiver: number;
  /** A cookie reply that did not authenticate. */
  badCookie: number;
  /** The responder's key does not match the address that was dialled. */
  addressMismatch: number;
  /** A datagram for a port nobody listens on (neither the session nor node.listen). */
  noListener: number;
  /** Streams a peer opened to a port nobody listens on (refused). */
  streamsRefused: number;
  /** Datagrams sent on a new incoming session before it was confirmed, beyond stageLimit. */
  stagedDropped: number;
  /** STUN packets (not handled yet at this layer). */
  stun: number;
}

export function newHandshakeCounters(): HandshakeCounters {
  return {
    initiationsSent: 0, initiationsRetransmitted: 0, initiationsReceived: 0, responsesSent: 0,
    responsesReceived: 0, cookieRepliesSent: 0, cookieRepliesReceived: 0, completed: 0, sessionsOpened: 0,
    sessionsClosed: 0, rekeys: 0, timeouts: 0, keepalivesSent: 0, keepalivesReceived: 0, deadPeerChecks: 0, errors: 0,
  };
}

export function newDropCounters(): DropCounters {
  return {
    malformed: 0, mac1: 0, cookieRequired: 0, decrypt: 0, payload: 0, keyMismatch: 0, replay: 0, refused: 0,
    binding: 0, busy: 0, sourceBusy: 0, simultaneous: 0, superseded: 0, noSession: 0, unknownReceiver: 0, badCookie: 0,
    addressMismatch: 0, noListener: 0, streamsRefused: 0, stagedDropped: 0, stun: 0,
  };
}
