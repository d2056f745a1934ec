/**
 * A small structured logger. Libraries take a `Logger` and never print on their own; hosts and CLIs
 * create one with `createLogger`. Fields named like secrets are redacted before anything is written.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'critical';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'critical'];
const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, critical: 50 };
const LEVEL_LETTER: Record<LogLevel, string> = { debug: 'D', info: 'I', warn: 'W', error: 'E', critical: 'C' };

/** Keys whose values are never logged (tokens, keys, passwords, connection secrets). */
const SECRET_KEY = /(token|secret|password|passwd|private|public_?key|^key$|authorization|cookie|credential)/i;

export function redact(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_KEY.test(k)) out[k] = '[redacted]';
    else if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Error)) out[k] = redact(v as LogFields);
    else if (v instanceof Error) out[k] = { name: v.name, message: v.message, ...('code' in v ? { code: (v as { code: unknown }).code } : {}) };
    else out[k] = v;
  }
  return out;
}

export interface LoggerOptions {
  /** Shown in Jupyter-format lines, e.g. `K8sSpecInstaller`. */
  name: string;
  level?: LogLevel;
  /** `jupyter`: `[I 2023-02-16 10:39:37.538 Name] message key=value`; `json`: one JSON object per line. */
  format?: 'jupyter' | 'json';
  /** Where lines go; defaults to process.stderr. */
  write?: (line: string) => void;
  /** Clock, for tests. */
  now?: () => Date;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** `2023-02-16 10:39:37.538` in local time, as Jupyter's log format prints it. */
export function formatJupyterTime(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function createLogger(options: LoggerOptions, bound: LogFields = {}): Logger {
  const threshold = LEVEL_RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = options.now ?? (() => new Date());
  const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LEVEL_RANK[level] < threshold) return;
    const all = redact({ ...bound, ...fields });
    if (options.format === 'json') {
      write(JSON.stringify({ time: now().toISOString(), level, name: options.name, msg: message, ...all }));
      return;
    }
    const extras = Object.entries(all)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    write(`[${LEVEL_LETTER[level]} ${formatJupyterTime(now())} ${options.name}] ${message}${extras ? ' ' + extras : ''}`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

/** A logger that drops everything: the default for library calls that were given none. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};

export interface LogRecord {
  level: Exclude<LogLevel, 'critical'>;
  message: string;
  fields: LogFields;
}

/** A `Logger` that keeps its (redacted) records in memory: for tests, and for hosts that show logs elsewhere. */
export interface MemoryLogger extends Logger {
  readonly records: LogRecord[];
  /** Resolves with the first record, past or future, that matches `pred`. */
  waitFor(pred: (record: LogRecord) => boolean): Promise<LogRecord>;
}

export function createMemoryLogger(): MemoryLogger {
  const records: LogRecord[] = [];
  const waiters: Array<{ pred: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }> = [];
  const emitter = (bound: LogFields) => (level: LogRecord['level']) => (message: string, fields: LogFields = {}) => {
    const record = { level, message, fields: redact({ ...bound, ...fields }) };
    records.push(record);
    for (const w of waiters.filter((w) => w.pred(record))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(record);
    }
  };
  const bind = (bound: LogFields): Logger => {
    const emit = emitter(bound);
    return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'), child: (f) => bind({ ...bound, ...f }) };
  };
  return {
    ...bind({}),
    records,
    waitFor(pred) {
      const found = records.find(pred);
      return found ? Promise.resolve(found) : new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}
