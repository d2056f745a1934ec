// Helpers shared by this folder's tests (not exported from the package).
import { spawn, type ChildProcess } from 'node:child_process';
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


/** A launcher started as its own process group, so the whole tree can be killed. */
export interface LauncherProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** Rejects when the process exits before `p` settles (with its output, for diagnosis). */
  unlessExited<T>(p: Promise<T>): Promise<T>;
  killGroup(): void;
}

const started = new Set<LauncherProcess>();

export function startProcess(command: string, args: string[], env: Record<string, string | undefined> = {}): LauncherProcess {
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const proc: LauncherProcess = {
    child,
    output: () => out,
    exited,
    unlessExited: <T>(p: Promise<T>) =>
      Promise.race([
        p,
        exited.then((code) => {
          throw new Error(`process exited (${code}) early; output:\n${out}`);
        }),
      ]),
    killGroup: () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
  started.add(proc);
  void exited.then(() => undefined);
  return proc;
}

/** Kills every process group started by `startProcess` (call from afterEach/afterAll). */
export function killStartedProcesses(): void {
  for (const p of started) p.killGroup();
  started.clear();
}

/** Resolves once `pred` holds on the text collected so far, checking as data arrives. */
export function waitForOutput(proc: LauncherProcess, pred: (text: string) => boolean): Promise<void> {
  return proc.unlessExited(
    new Promise<void>((resolve) => {
      const check = (): void => {
        if (pred(proc.output())) {
          proc.child.stdout?.off('data', check);
          proc.child.stderr?.off('data', check);
          resolve();
        }
      };
      proc.child.stdout?.on('data', check);
      proc.child.stderr?.on('data', check);
      check();
    }),
  );
}

/** Sends bytes, half-closes, and resolves with everything the peer sent before closing. */
export function sendRawForReply(address: string, data: string): Promise<string> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    let reply = '';
    const s = connect({ host, port: Number(port) }, () => s.end(data));
    s.on('data', (c: Buffer) => (reply += c.toString()));
    s.on('error', reject);
    s.on('close', () => resolve(reply));
  });
}
