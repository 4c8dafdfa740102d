// The hubless handshake around the Noise IK core: wire layout, mac1/mac2/cookies, timestamps and
// message processing. Timers, access control and sessions live in src/node/.
export * from './wire.js';
export * from './cookie.js';
export * from './timestamp.js';
export * from './messages.js';
