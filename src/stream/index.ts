/** Reliable streams over sessions: the Duplex, the message framing and the per-transport hub. */
export { Stream, RESET_CODE_CANCELLED, type StreamInfo } from './stream.js';
export { StreamHub, streamsOf, openStream, type StreamOptions, type FaultOptions, type StreamSessionStats } from './hub.js';
export { encodeMessage, readMessages, DEFAULT_MAX_MESSAGE, type MessageOptions } from './messages.js';
