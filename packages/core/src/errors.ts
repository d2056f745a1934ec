/**
 * Typed errors shared by every gp package. Each error has a stable `code` a program can switch on
 * and a message a person can act on. Hosts map `httpStatus` onto their API responses.
 */
export interface GpErrorOptions {
  /** Underlying error, kept for logs and debugging. */
  cause?: unknown;
  /** Structured facts about the failure (names, values, reasons); never secrets. */
  details?: Record<string, unknown>;
  /** HTTP status a host should answer with; defaults to 500. */
  httpStatus?: number;
}

export class GpError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown>;
  readonly httpStatus: number;

  constructor(code: string, message: string, options: GpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
    this.httpStatus = options.httpStatus ?? 500;
  }

  toJSON(): { code: string; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** Where a configuration value came from, for error messages and `--debug` output. */
export type ValueSource =
  | { kind: 'default' }
  | { kind: 'file'; path: string }
  | { kind: 'env'; name: string }
  | { kind: 'flag'; name: string }
  | { kind: 'kernelspec'; path?: string }
  | { kind: 'request'; name: string };

export function describeSource(source: ValueSource): string {
  switch (source.kind) {
    case 'default':
      return 'the built-in default';
    case 'file':
      return `config file ${source.path}`;
    case 'env':
      return `environment variable ${source.name}`;
    case 'flag':
      return `command-line flag --${source.name}`;
    case 'kernelspec':
      return source.path ? `kernelspec ${source.path}` : 'the kernelspec';
    case 'request':
      return `request variable ${source.name}`;
  }
}

/** Longest value text a message quotes; longer values are cut and their length given. */
export const MAX_VALUE_TEXT = 200;

/**
 * A value as an error message quotes it: JSON (so strings show their quotes and escapes and stay on one
 * line), cut to `MAX_VALUE_TEXT` characters. Values JSON cannot write (a self-referencing YAML alias in a
 * config file, a BigInt) are described instead of making the error itself throw.
 */
export function formatValue(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = typeof value === 'bigint' ? String(value) : Array.isArray(value) ? '[a self-referencing list]' : '[a self-referencing mapping]';
  }
  return text.length > MAX_VALUE_TEXT ? `${text.slice(0, MAX_VALUE_TEXT)}... (${text.length} characters)` : text;
}

/** The value as `details` keep it: itself when JSON can write it (hosts send details in error bodies), else its description. */
function serializableValue(value: unknown): unknown {
  try {
    JSON.stringify(value);
    return value;
  } catch {
    return formatValue(value);
  }
}

/** A bad option or input value: names the option, where the value came from, the value and what is valid. */
export class ConfigError extends GpError {
  constructor(
    readonly option: string,
    readonly source: ValueSource,
    readonly value: unknown,
    readonly expected: string,
    options: GpErrorOptions = {},
  ) {
    super(
      'GP_INVALID_CONFIG',
      // A missing value is said to be missing, not quoted as "undefined".
      value === undefined
        ? `${option} is not set: expected ${expected}.`
        : `Invalid value ${formatValue(value)} for ${option} (from ${describeSource(source)}): expected ${expected}.`,
      { httpStatus: 400, ...options, details: { option, source, value: serializableValue(value), expected, ...options.details } },
    );
  }
}

/** A request that policy refuses (unauthorized user, prohibited UID/GID...): hosts answer 403. */
export class AuthorizationError extends GpError {
  constructor(code: string, message: string, options: GpErrorOptions = {}) {
    super(code, message, { httpStatus: 403, ...options });
  }
}

export function isGpError(error: unknown): error is GpError {
  return error instanceof GpError;
}
