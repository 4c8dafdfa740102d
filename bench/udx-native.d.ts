// udx-native ships no types; bench/datagram/peers/udx.ts declares the part it uses.
declare module 'udx-native';
