/** The stream peers by name (the names --stream-peers takes). */
import type { PeerModule } from '../types.js';
import { hubless } from './hubless.js';
import { hyperdht } from './hyperdht.js';
import { libp2p } from './libp2p.js';
import { tcp } from './tcp.js';
import { udx } from './udx.js';

export const PEERS: Record<string, PeerModule> = { hubless, udx, hyperdht, libp2p, tcp };
