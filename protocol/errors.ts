/**
 * Base error of the project: a stable string `code`, a short sentence for people, details and `cause`.
 * Catch with `isIconError(e)` or `e instanceof IconError` and switch on `code`.
 */
export class IconError extends Error {
  override name = "IconError";
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** A chain call was refused (custom error decoded) or the chain could not be reached. */
export class ChainError extends IconError {
  override name = "ChainError" as const;
}

/** Input or configuration is invalid; the message names the field and the fix. */
export class ConfigError extends IconError {
  override name = "ConfigError" as const;
}

/** Type guard for any project error. */
export function isIconError(e: unknown): e is IconError {
  return e instanceof IconError;
}
