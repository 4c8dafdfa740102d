// hyperdht ships no types; bench/stream/peers/hyperdht.ts declares the part it uses.
declare module 'hyperdht';
declare module 'hyperdht/testnet.js';
