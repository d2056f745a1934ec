/**
 * The sandbox's own processes (gp-gateway, JupyterLab): each in its own process group with its output in a log
 * file, tied to the sandbox with PR_SET_PDEATHSIG (through util-linux `setpriv`, when installed) so that even a
 * SIGKILLed sandbox leaves none of them running, and recorded in `<dir>/pids/` for the next sandbox's sweep.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SANDBOX_DIR_PREFIX = 'gp-sandbox-';
/** Set in every process the sandbox starts: the sweep recognises them by it. */
export const SANDBOX_DIR_ENV = 'GP_SANDBOX_DIR';

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logPath: string;
  /** Resolves with the exit code (128 + n for a signal) when the process has exited. */
  readonly exited: Promise<number>;
  exitCode(): number | undefined;
  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs: number): Promise<void>;
  /** SIGKILL to the process group, now. */
  killSync(): void;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

let setprivPath: string | null | undefined;
function setpriv(): string | null {
  if (setprivPath === undefined) {
    const probe = spawnSync('setpriv', ['--pdeathsig', 'KILL', 'true'], { stdio: 'ignore' });
    setprivPath = probe.status === 0 ? 'setpriv' : null;
  }
  return setprivPath;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // gone already
  }
}

export function startProcess(
  dir: string,
  name: string,
  command: string,
  args: readonly string[],
  options: { env: Record<string, string>; cwd?: string },
): ManagedProcess {
  const logPath = join(dir, 'logs', `${name}.log`);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  mkdirSync(join(dir, 'pids'), { recursive: true });
  const fd = openSync(logPath, 'a');
  const wrapper = setpriv();
  const [file, argv] = wrapper ? [wrapper, ['--pdeathsig', 'KILL', command, ...args]] : [command, [...args]];
  const child = spawn(file, argv, {
    cwd: options.cwd ?? dir,
    detached: true, // its own process group: a Ctrl-C in the terminal reaches only the sandbox, which stops it in order
    stdio: ['ignore', fd, fd],
    env: { ...options.env, [SANDBOX_DIR_ENV]: dir },
  });
  closeSync(fd);
  let code: number | undefined;
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (c, signal) => {
      code = c ?? 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 0) : 0);
      resolve(code);
    });
    child.once('error', () => {
      code = 127;
      resolve(code);
    });
  });
  if (child.pid) writeFileSync(join(dir, 'pids', name), String(child.pid));
  const killSync = () => {
    if (child.pid && code === undefined) killGroup(child.pid, 'SIGKILL');
  };
  return {
    name,
    child,
    logPath,
    exited,
    exitCode: () => code,
    killSync,
    async stop(graceMs) {
      if (!child.pid || code !== undefined) return;
      killGroup(child.pid, 'SIGTERM');
      const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref())]);
      if (!done) {
        killGroup(child.pid, 'SIGKILL');
        await exited;
      }
      // Whatever the process left in its group (a kernel of a local kernelspec, say).
      killGroup(child.pid, 'SIGKILL');
    },
  };
}

/**
 * SIGTERM to every direct child of this process (a `go build` of the control plane, a `k8s-spec install`): for a
 * stop while starting, when those are not tracked. Synchronous, for exit handlers.
 */
export function terminateChildren(): void {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return;
  }
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) process.kill(Number(entry), 'SIGTERM');
    } catch {
      // gone meanwhile
    }
  }
}

/** The last `lines` lines of a log file ('' when unreadable). */
export function logTail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function environOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return '';
  }
}

/**
 * Removes what a killed sandbox left: a `gp-sandbox-*` temp dir whose owner is gone, after killing the process
 * groups it recorded that still carry its GP_SANDBOX_DIR (so a reused pid is never hit). The cluster's own
 * leftovers are swept by `startCluster`.
 */
export function sweepStaleSandboxes(log: (line: string) => void): void {
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((e) => e.startsWith(SANDBOX_DIR_PREFIX));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = join(tmpdir(), entry);
    const owner = Number(readFileSafe(join(dir, 'owner.pid')));
    if (!owner || pidAlive(owner)) continue;
    const pidsDir = join(dir, 'pids');
    for (const f of existsSync(pidsDir) ? readdirSync(pidsDir) : []) {
      const pid = Number(readFileSafe(join(pidsDir, f)));
      if (pid > 0 && environOf(pid).includes(`${SANDBOX_DIR_ENV}=${dir}\0`)) killGroup(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
    log(`removed what an earlier sandbox left: ${dir}`);
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}
