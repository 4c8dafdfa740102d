// Identity and address layer, for use inside hubless (the public API picks from this).
export * from './address.js';
export * from './derive.js';
export * from './identity.js';
export * from './keyfile.js';
export * from './hostname.js';
