// Helpers for the kernel-side launcher tests: launchers started as their own process groups, raw TCP peers.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';

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
