/**
 * Validators and parsers shared by every gp program (spec CLI, launcher, gateway). Each returns the
 * parsed value or throws a `ConfigError` naming the option, where the value came from, the value and
 * what is valid.
 */
import { ConfigError, type ValueSource } from '../errors.js';
import type { LogLevel } from '../logging.js';

const DEFAULT_SOURCE: ValueSource = { kind: 'default' };

/** A port range `LOW..HIGH`; `disabled` when both ends are equal (`0..0`): no range enforcement. */
export interface PortRange {
  readonly lower: number;
  readonly upper: number;
  readonly disabled: boolean;
}

export const MIN_PORT = 1024;
export const MAX_PORT = 65535;
/** Smallest allowed size of an enabled range (the reference's `GP_MIN_PORT_RANGE_SIZE`). */
export const DEFAULT_MIN_PORT_RANGE_SIZE = 1000;
/** The host env var that changes the smallest allowed size (as the reference's provisioner reads it). */
export const MIN_PORT_RANGE_SIZE_ENV = 'GP_MIN_PORT_RANGE_SIZE';

/**
 * The smallest allowed size of an enabled port range: `GP_MIN_PORT_RANGE_SIZE` when set (an integer in
 * 1..64511, the most that fits in 1024..65535), else 1000. A bad value is a ConfigError, never the default.
 */
export function minPortRangeSize(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const raw = env[MIN_PORT_RANGE_SIZE_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_MIN_PORT_RANGE_SIZE;
  return parseInteger(raw, MIN_PORT_RANGE_SIZE_ENV, { kind: 'env', name: MIN_PORT_RANGE_SIZE_ENV }, { min: 1, max: MAX_PORT - MIN_PORT });
}

export const DISABLED_PORT_RANGE: PortRange = Object.freeze({ lower: 0, upper: 0, disabled: true });

export function portRangeToString(range: PortRange): string {
  return `${range.lower}..${range.upper}`;
}

function portRangeExpectation(minSize: number): string {
  return `LOW..HIGH with both ends integers in ${MIN_PORT}..${MAX_PORT} and HIGH - LOW >= ${minSize} (e.g. 40000..41000), or 0..0 to disable port-range enforcement`;
}

/**
 * Parses `LOW..HIGH`. A range of size zero (`0..0`, or `33245..33245` as the reference allows) disables
 * enforcement and is normalised to `0..0`.
 */
export function parsePortRange(
  raw: unknown,
  options: { option?: string; source?: ValueSource; minSize?: number } = {},
): PortRange {
  const option = options.option ?? 'port_range';
  const source = options.source ?? DEFAULT_SOURCE;
  const minSize = options.minSize ?? DEFAULT_MIN_PORT_RANGE_SIZE;
  const fail = (): never => {
    throw new ConfigError(option, source, raw, portRangeExpectation(minSize));
  };
  if (typeof raw !== 'string') return fail();
  const m = /^\s*(\d{1,5})\s*\.\.\s*(\d{1,5})\s*$/.exec(raw);
  if (!m) return fail();
  const lower = Number(m[1]);
  const upper = Number(m[2]);
  if (lower === upper) return DISABLED_PORT_RANGE;
  if (lower < MIN_PORT || upper > MAX_PORT || upper - lower < minSize) return fail();
  return Object.freeze({ lower, upper, disabled: false });
}

/** Jupyter kernel languages gp can install. */
export const LANGUAGES = ['Python', 'R', 'Scala'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Case-insensitive match of a language name onto `Python`, `R` or `Scala`. */
export function parseLanguage(raw: unknown, option = 'language', source: ValueSource = DEFAULT_SOURCE): Language {
  if (typeof raw === 'string') {
    const found = LANGUAGES.find((l) => l.toLowerCase() === raw.trim().toLowerCase());
    if (found) return found;
  }
  throw new ConfigError(option, source, raw, `one of ${LANGUAGES.join(', ')} (case-insensitive)`);
}

/** The `language` field of kernel.json, as Jupyter kernels report it: `python`, `R`, `scala`. */
export function kernelJsonLanguage(language: Language): 'python' | 'R' | 'scala' {
  return language === 'Python' ? 'python' : language === 'R' ? 'R' : 'scala';
}

// Brackets, braces and quotes only get into a name when a list is written as a Python/JSON literal
// (GP_UNAUTHORIZED_USERS="['root']"); taken as names they would silently let `root` through.
const LIST_SYNTAX = /[[\]{}'"]/;

/**
 * The one comma-list rule: a comma-separated string (or strings, each split the same way) cut at commas,
 * each item trimmed, empty items dropped. Typed lists (user names, ids, regexes, languages) build on it.
 */
export function splitCommaList(raw: string | readonly string[]): string[] {
  const parts = typeof raw === 'string' ? raw.split(',') : raw.flatMap((v) => v.split(','));
  return parts.map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * Parses a user list: an array of names, or a comma-separated string (non-bracketed, as the reference's
 * GP_*_USERS env vars); trims, drops empties, dedupes. A name with whitespace, brackets, braces or quotes is
 * refused.
 */
export function parseUserList(raw: unknown, option = 'users', source: ValueSource = DEFAULT_SOURCE): string[] {
  const expected = 'a comma-separated list (or array) of user names without whitespace, brackets or quotes, e.g. alice,bob';
  const isStrings = typeof raw === 'string' || (Array.isArray(raw) && raw.every((v) => typeof v === 'string'));
  if (!isStrings) throw new ConfigError(option, source, raw, expected);
  const out: string[] = [];
  for (const name of splitCommaList(raw as string | string[])) {
    if (/\s/.test(name) || LIST_SYNTAX.test(name)) throw new ConfigError(option, source, raw, expected);
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'y', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'n', 'off']);

export function parseBoolean(raw: unknown, option = 'option', source: ValueSource = DEFAULT_SOURCE): boolean {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'number' && (raw === 0 || raw === 1)) return raw === 1;
  if (typeof raw === 'string') {
    const w = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(w)) return true;
    if (FALSE_WORDS.has(w)) return false;
  }
  throw new ConfigError(option, source, raw, 'a boolean: true/false (also yes/no, 1/0, on/off)');
}

export function parseInteger(
  raw: unknown,
  option = 'option',
  source: ValueSource = DEFAULT_SOURCE,
  bounds: { min?: number; max?: number } = {},
): number {
  let n: number | undefined;
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) n = raw;
  else if (typeof raw === 'string' && /^\s*[+-]?\d+\s*$/.test(raw)) n = Number(raw);
  const { min, max } = bounds;
  if (n === undefined || !Number.isSafeInteger(n) || (min !== undefined && n < min) || (max !== undefined && n > max)) {
    const range =
      min !== undefined && max !== undefined
        ? ` in ${min}..${max}`
        : min === 1
          ? ' greater than 0'
          : min !== undefined
            ? ` >= ${min}`
            : max !== undefined
              ? ` <= ${max}`
              : '';
    throw new ConfigError(option, source, raw, `an integer${range}`);
  }
  return n;
}

/** A positive integer number of seconds (launch timeout). */
export function parseLaunchTimeout(raw: unknown, option = 'launch_timeout', source: ValueSource = DEFAULT_SOURCE): number {
  return parseInteger(raw, option, source, { min: 1 });
}

const LOG_LEVEL_BY_NUMBER: Record<number, LogLevel> = { 0: 'debug', 10: 'debug', 20: 'info', 30: 'warn', 40: 'error', 50: 'critical' };
const LOG_LEVEL_BY_NAME: Record<string, LogLevel> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  WARNING: 'warn',
  ERROR: 'error',
  CRITICAL: 'critical',
};
export const LOG_LEVEL_CHOICES = ['0', '10', '20', '30', '40', '50', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL'] as const;

/** Log level by value (0, 10 ... 50, as Python's logging) or name (DEBUG, INFO, WARN, ERROR, CRITICAL). */
export function parseLogLevel(raw: unknown, option = 'log_level', source: ValueSource = DEFAULT_SOURCE): LogLevel {
  if (typeof raw === 'number' && raw in LOG_LEVEL_BY_NUMBER) return LOG_LEVEL_BY_NUMBER[raw]!;
  if (typeof raw === 'string') {
    const t = raw.trim();
    if (/^\d+$/.test(t) && Number(t) in LOG_LEVEL_BY_NUMBER) return LOG_LEVEL_BY_NUMBER[Number(t)]!;
    const byName = LOG_LEVEL_BY_NAME[t.toUpperCase()];
    if (byName) return byName;
  }
  throw new ConfigError(option, source, raw, `one of ${LOG_LEVEL_CHOICES.join(', ')}`);
}

/** Jupyter's rule for kernel (directory) names. */
export const KERNEL_NAME_PATTERN = /^[a-z0-9._-]+$/;

export function isValidKernelName(name: string): boolean {
  return KERNEL_NAME_PATTERN.test(name);
}

/**
 * Normalises a kernel name as Jupyter does when installing (spaces to `_`, lowercased) and checks it
 * against `^[a-z0-9._-]+$`.
 */
export function normalizeKernelName(raw: string, option = 'kernel_name', source: ValueSource = DEFAULT_SOURCE): string {
  const name = raw.trim().replace(/ /g, '_').toLowerCase();
  if (!isValidKernelName(name) || name === '.' || name === '..') {
    throw new ConfigError(
      option,
      source,
      raw,
      'a kernel name matching ^[a-z0-9._-]+$ after lowercasing and replacing spaces by "_" (letters, digits, ".", "_", "-")',
    );
  }
  return name;
}

/** A dotted Python class path such as `ipykernel.ipkernel.IPythonKernel`. */
export function parsePythonClassName(raw: unknown, option = 'ipykernel_subclass_name', source: ValueSource = DEFAULT_SOURCE): string {
  if (typeof raw === 'string' && /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$/.test(raw.trim())) return raw.trim();
  throw new ConfigError(option, source, raw, 'a dotted Python class path such as ipykernel.ipkernel.IPythonKernel');
}

/** Control, format (zero-width, bidi), private-use, surrogate and unassigned code points. */
const INVISIBLE = /\p{C}/u;
export const MAX_USERNAME_LENGTH = 256;

/**
 * Checks a kernel username (KERNEL_USERNAME): not blank, no surrounding whitespace, no control or
 * invisible characters (which would make ` root`, `root\n` or `ro\u200bot` slip past GP_UNAUTHORIZED_USERS),
 * at most 256 characters. Inner spaces are allowed (`john doe`). Returns it unchanged; throws ConfigError.
 */
export function validateUsername(raw: unknown, option = 'KERNEL_USERNAME', source: ValueSource = DEFAULT_SOURCE): string {
  const expected = `the name of the user the kernel runs for: no surrounding whitespace, no control or invisible characters, at most ${MAX_USERNAME_LENGTH} characters`;
  if (typeof raw !== 'string' || raw.trim() === '' || raw !== raw.trim() || INVISIBLE.test(raw) || [...raw].length > MAX_USERNAME_LENGTH) {
    throw new ConfigError(option, source, raw, expected);
  }
  return raw;
}

/**
 * The comparison rule of the user lists (GP_AUTHORIZED_USERS, GP_UNAUTHORIZED_USERS): case-insensitive after
 * Unicode compatibility normalization (NFKC), so `Root` and `ｒｏｏｔ` match `root`. A username also names the
 * kernel's pods and namespaces, which are lower case: two names that differ only in case are one identity
 * there, so a deny list must not be passable by changing case. (The reference compares case-sensitively.)
 */
export function usernameKey(name: string): string {
  return name.normalize('NFKC').toLowerCase();
}

/** Whether `list` names `username` under the user lists' comparison rule (`usernameKey`). */
export function userListIncludes(list: readonly string[], username: string): boolean {
  const key = usernameKey(username);
  return list.some((entry) => usernameKey(entry) === key);
}
