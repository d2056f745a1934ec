// Helpers shared by this folder's tests (not exported from the package).
import { connect } from 'node:net';
import type { LogFields, Logger } from '../logging.js';

export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields;
}

/** A logger that records everything and lets a test wait for a record. */
export function recordingLogger(): Logger & { records: LogRecord[]; waitFor(pred: (r: LogRecord) => boolean): Promise<LogRecord> } {
  const records: LogRecord[] = [];
  const waiters: Array<{ pred: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }> = [];
  const emit = (level: LogRecord['level'], message: string, fields: LogFields = {}): void => {
    const r = { level, message, fields };
    records.push(r);
    for (const w of [...waiters]) {
      if (w.pred(r)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(r);
      }
    }
  };
  const logger = {
    records,
    debug: (m: string, f?: LogFields) => emit('debug', m, f),
    info: (m: string, f?: LogFields) => emit('info', m, f),
    warn: (m: string, f?: LogFields) => emit('warn', m, f),
    error: (m: string, f?: LogFields) => emit('error', m, f),
    child: () => logger,
    waitFor(pred: (r: LogRecord) => boolean): Promise<LogRecord> {
      const found = records.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
  return logger;
}

/** Sends bytes to host:port, half-closes, and resolves when the peer closes. */
export function sendRaw(address: string, data: Buffer | string, end = true): Promise<void> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const s = connect({ host, port: Number(port) }, () => {
      if (end) s.end(data);
      else s.write(data);
    });
    s.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve() : reject(err)));
    s.on('close', () => resolve());
    s.resume();
  });
}
