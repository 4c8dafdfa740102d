/**
 * Every error hubless throws, rejects with or emits is a HublessError with a stable `code`
 * (`ERR_HUBLESS_*`), also those raised inside the native addon. Messages may change between
 * versions; codes do not. docs/ERRORS.md says, for each code, when it happens and what to do.
 *
 * The list below is closed: a code missing from it does not compile, and
 * test/errors/codes.test.ts fails when src/ or native/ uses a code that is not listed here or
 * not documented in docs/ERRORS.md.
 */
export const HUBLESS_ERROR_CODES = [
  // Arguments, misuse, internal faults
  'ERR_HUBLESS_INVALID_ARGUMENT',
  'ERR_HUBLESS_BAD_ARGUMENT',
  'ERR_HUBLESS_UNSUPPORTED',
  'ERR_HUBLESS_ABORTED',
  'ERR_HUBLESS_INTERNAL',
  // Identity, addresses, key files
  'ERR_HUBLESS_BAD_ADDRESS',
  'ERR_HUBLESS_BAD_PORT',
  'ERR_HUBLESS_BAD_HOSTNAME',
  'ERR_HUBLESS_BAD_KEY',
  'ERR_HUBLESS_BAD_NONCE',
  'ERR_HUBLESS_KEY_MISMATCH',
  'ERR_HUBLESS_DESTROYED',
  'ERR_HUBLESS_NONCE_EXHAUSTED',
  'ERR_HUBLESS_RESERVED_NODE_ID',
  'ERR_HUBLESS_KEYFILE_NOT_FOUND',
  'ERR_HUBLESS_KEYFILE_EXISTS',
  'ERR_HUBLESS_KEYFILE_PERMISSIONS',
  'ERR_HUBLESS_KEYFILE_CORRUPT',
  'ERR_HUBLESS_KEYFILE_IO',
  // Nodes, sessions, handshakes
  'ERR_HUBLESS_NODE_CLOSED',
  'ERR_HUBLESS_NO_ROUTE',
  'ERR_HUBLESS_ADDRESS_MISMATCH',
  'ERR_HUBLESS_HANDSHAKE_FAILED',
  'ERR_HUBLESS_HANDSHAKE_TIMEOUT',
  'ERR_HUBLESS_REFUSED',
  'ERR_HUBLESS_BUSY',
  'ERR_HUBLESS_PEER_RESTARTED',
  'ERR_HUBLESS_SESSION_CLOSED',
  'ERR_HUBLESS_PORT_IN_USE',
  'ERR_HUBLESS_DATAGRAM_TOO_LARGE',
  'ERR_HUBLESS_NOISE_UNSUPPORTED',
  'ERR_HUBLESS_NOISE_STATE',
  'ERR_HUBLESS_NOISE_INVALID_ARGUMENT',
  'ERR_HUBLESS_NOISE_DECRYPT_FAILED',
  'ERR_HUBLESS_NOISE_NONCE_EXHAUSTED',
  // Streams, messages, requests
  'ERR_HUBLESS_STREAM_LIMIT',
  'ERR_HUBLESS_STREAM_REFUSED',
  'ERR_HUBLESS_STREAM_RESET',
  'ERR_HUBLESS_STREAM_TIMEOUT',
  'ERR_HUBLESS_STREAM_CLOSED',
  'ERR_HUBLESS_STREAM_ENDED',
  'ERR_HUBLESS_STREAM_BUFFER_FULL',
  'ERR_HUBLESS_MESSAGE_TOO_LARGE',
  'ERR_HUBLESS_MESSAGE_INVALID',
  'ERR_HUBLESS_MESSAGE_TRUNCATED',
  'ERR_HUBLESS_REQUEST_TIMEOUT',
  'ERR_HUBLESS_REMOTE_ERROR',
  'ERR_HUBLESS_BAD_RESPONSE',
  // The native data plane (Transport and below)
  'ERR_HUBLESS_ADDRESS_IN_USE',
  'ERR_HUBLESS_ADDRESS_FAMILY',
  'ERR_HUBLESS_SOCKET',
  'ERR_HUBLESS_SOCKET_BOUND',
  'ERR_HUBLESS_SOCKET_NOT_BOUND',
  'ERR_HUBLESS_SOCKET_CLOSED',
  'ERR_HUBLESS_SESSION_LIMIT',
  'ERR_HUBLESS_SESSION_INSTALLED',
  'ERR_HUBLESS_NO_SESSION',
  'ERR_HUBLESS_KEY_EXHAUSTED',
  'ERR_HUBLESS_AEAD_UNAVAILABLE',
  'ERR_HUBLESS_NATIVE_UNAVAILABLE',
  'ERR_HUBLESS_SODIUM_INIT',
  'ERR_HUBLESS_FRAME',
  'ERR_HUBLESS_FRAME_SHORT',
  'ERR_HUBLESS_FRAME_NOT_HUBLESS',
  'ERR_HUBLESS_FRAME_VERSION',
  'ERR_HUBLESS_FRAME_LENGTH',
  'ERR_HUBLESS_FRAME_TYPE',
  'ERR_HUBLESS_FRAME_TRUNCATED',
  // The directory: records, stores, protocol, client
  'ERR_HUBLESS_BAD_RECORD',
  'ERR_HUBLESS_RECORD_TOO_LARGE',
  'ERR_HUBLESS_BAD_SIGNATURE',
  'ERR_HUBLESS_RECORD_EXPIRED',
  'ERR_HUBLESS_BAD_BINDING',
  'ERR_HUBLESS_STALE_RECORD',
  'ERR_HUBLESS_HOSTNAME_TAKEN',
  'ERR_HUBLESS_ADDRESS_TAKEN',
  'ERR_HUBLESS_BAD_CAPABILITY',
  'ERR_HUBLESS_BAD_QUERY',
  'ERR_HUBLESS_STORE_CLOSED',
  'ERR_HUBLESS_STORE_FAILED',
  'ERR_HUBLESS_BAD_REQUEST',
  'ERR_HUBLESS_RATE_LIMITED',
  'ERR_HUBLESS_NOT_OWNER',
  'ERR_HUBLESS_NOT_REGISTERED',
  'ERR_HUBLESS_TOO_MANY_WATCHES',
  'ERR_HUBLESS_WATCH_OVERFLOW',
  'ERR_HUBLESS_NOT_FOUND',
  'ERR_HUBLESS_DIRECTORY_UNAVAILABLE',
  'ERR_HUBLESS_DIRECTORY_CLOSED',
  'ERR_HUBLESS_BAD_DIRECTORY_ENTRY',
  'ERR_HUBLESS_NO_DIRECTORY',
  // The command line, and its `hubless demo` (never thrown by the library API)
  'ERR_HUBLESS_USAGE',
  'ERR_HUBLESS_DEMO_AGENT',
  'ERR_HUBLESS_DEMO_INPUT',
  'ERR_HUBLESS_DEMO_INTERRUPTED',
  'ERR_HUBLESS_DEMO_NO_PROVIDER',
  'ERR_HUBLESS_DEMO_REMOTE',
  'ERR_HUBLESS_DEMO_TIMEOUT',
  'ERR_HUBLESS_DEMO_UNSUPPORTED',
] as const;

/** Every code a HublessError can carry (docs/ERRORS.md). */
export type HublessErrorCode = (typeof HUBLESS_ERROR_CODES)[number];

/** The codes only the `hubless demo` command raises; the library API never does. */
export type HublessDemoErrorCode = Extract<HublessErrorCode, `ERR_HUBLESS_DEMO_${string}`>;

const KNOWN_CODES: ReadonlySet<string> = new Set(HUBLESS_ERROR_CODES);

/** True when `code` is one of HUBLESS_ERROR_CODES. */
export function isHublessErrorCode(code: unknown): code is HublessErrorCode {
  return typeof code === 'string' && KNOWN_CODES.has(code);
}

export class HublessError extends Error {
  readonly code: HublessErrorCode;
  /** Set on errors a peer sent back (a request handler's error, a directory's refusal). */
  declare remote?: boolean;
  /**
   * On a remote error whose code this version does not know (a newer peer, or an application's
   * own `ERR_HUBLESS_*` string): the code the peer sent. `code` is then ERR_HUBLESS_REMOTE_ERROR.
   */
  declare remoteCode?: string;
  /** Native socket errors: the OS error number and the failing system call. */
  declare errno?: number;
  declare syscall?: string;

  constructor(code: HublessErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HublessError';
    this.code = code;
  }
}

/** True when `err` is an Error carrying the given hubless code. */
export function hasCode(err: unknown, code: HublessErrorCode): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === code;
}

/**
 * @internal An error a peer sent back as (code, message): known codes are kept, any other
 * becomes ERR_HUBLESS_REMOTE_ERROR with the peer's string in `remoteCode`. Marked `remote`.
 */
export function remoteError(code: string, message: string): HublessError {
  const known = isHublessErrorCode(code);
  const err = new HublessError(known ? code : 'ERR_HUBLESS_REMOTE_ERROR', message);
  err.remote = true;
  if (!known) err.remoteCode = code;
  return err;
}

/**
 * @internal What the native addon (or Node, or another library) threw, as a HublessError. The
 * addon throws plain Errors with a `code` (native/errors.cc), so every JS method that calls into
 * it converts on its throw path only. A known code is kept, else ERR_HUBLESS_INVALID_ARGUMENT for
 * a TypeError or RangeError and ERR_HUBLESS_INTERNAL otherwise; the original is kept as `cause`,
 * errno and syscall are copied. A HublessError is returned as it is.
 */
export function asHublessError(err: unknown): HublessError {
  if (err instanceof HublessError) return err;
  const raw = err as { code?: unknown; message?: unknown; errno?: unknown; syscall?: unknown } | null;
  const rawCode = raw?.code;
  const code: HublessErrorCode = isHublessErrorCode(rawCode) ? rawCode
    : err instanceof TypeError || err instanceof RangeError ? 'ERR_HUBLESS_INVALID_ARGUMENT' : 'ERR_HUBLESS_INTERNAL';
  const message = typeof raw?.message === 'string' ? raw.message : String(err);
  const out = new HublessError(code, message, { cause: err });
  if (typeof raw?.errno === 'number') out.errno = raw.errno;
  if (typeof raw?.syscall === 'string') out.syscall = raw.syscall;
  return out;
}
