// Typed errors with stable codes. Known errors print as one line (exit 1); anything else is internal (exit 2).

export type DittoErrorCode =
  | 'DITTO_USAGE'
  | 'DITTO_SPEC_INVALID'
  | 'DITTO_ARTIFACT_INVALID'
  | 'DITTO_FILE_NOT_FOUND'
  | 'DITTO_TOOL_MISSING'
  | 'DITTO_TOOL_FAILED'
  | 'DITTO_NOT_PERMITTED'
  | 'DITTO_TIMEOUT'
  | 'DITTO_TARGET_UNREACHABLE'
  | 'DITTO_TARGET_FAILED'
  | 'DITTO_LOAD_FAILED'
  | 'DITTO_INTERRUPTED'
  | 'DITTO_PRIVACY_LEAK'
  | 'DITTO_TRACE_FORMAT'
  | 'DITTO_TRACE_INVALID';

export class DittoError extends Error {
  readonly code: DittoErrorCode;
  /** What the user can do about it, appended to the one-line message. */
  readonly hint: string | undefined;

  constructor(code: DittoErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DittoError';
    this.code = code;
    this.hint = options.hint;
  }

  /** The one line the CLI prints. */
  oneLine(): string {
    return singleLine(this.hint ? `${this.message} (${this.hint})` : this.message);
  }
}

const singleLine = (text: string) => text.replace(/\s*\n\s*/g, ' | ');

export function isDittoError(error: unknown): error is DittoError {
  return error instanceof DittoError;
}

/** Any error as one line: a DittoError's own, otherwise its message. */
export function errorLine(error: unknown): string {
  if (isDittoError(error)) return error.oneLine();
  return singleLine(error instanceof Error ? error.message : String(error));
}
