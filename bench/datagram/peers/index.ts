/** The datagram peers by name (the names --peers takes). */
import type { PeerModule } from '../types.js';
import { dgramCrypto, dgramPlain } from './dgram.js';
import { hubless } from './hubless.js';
import { udx } from './udx.js';

export const PEERS: Record<string, PeerModule> = {
  hubless,
  'dgram-crypto': dgramCrypto,
  dgram: dgramPlain,
  udx,
};
