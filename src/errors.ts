/**
 * Every error hubless throws or emits is a HublessError with a stable `code`
 * (`ERR_HUBLESS_*`). Messages may change between versions; codes do not.
 */
export type HublessErrorCode = `ERR_HUBLESS_${string}`;

export class HublessError extends Error {
  readonly code: HublessErrorCode;

  constructor(code: HublessErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HublessError';
    this.code = code;
  }
}

/** True when `err` is an Error carrying the given hubless code (also for native errors). */
export function hasCode(err: unknown, code: HublessErrorCode): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === code;
}
