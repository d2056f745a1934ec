/**
 * gp's launchers send a kernel's signals (interrupts, SIGUSR2 for Spark, forwarded SIGTERM) to its main
 * thread. A process-directed kill() may land on any helper thread that accepts the signal, and a Python
 * kernel whose main thread sleeps in the user's cell is then interrupted only when that call returns.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, testPython } from '@gp/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { killStartedProcesses, startProcess, waitForOutput } from './process.test-helper.js';

const sharedScripts = join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'shared', 'scripts');
const SIGUSR1 = 10;

// The main thread blocks SIGUSR1; a helper thread accepts it. kill() therefore always reaches the helper
// (which records it), while a signal aimed at the main thread stays pending there, where /proc shows it.
const TARGET = `
import signal, threading, time
got = []
signal.signal(signal.SIGUSR1, lambda *a: got.append(1))
ready = threading.Event()
def helper():
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
    ready.set()
    time.sleep(120)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
threading.Thread(target=helper, daemon=True).start()
ready.wait()
print("ready", flush=True)
time.sleep(120)
`;

function mainThreadPending(pid: number): bigint {
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
  return BigInt(`0x${/^SigPnd:\s*([0-9a-f]+)/m.exec(status)![1]}`);
}

function send(how: 'signal_main_thread' | 'kill', pid: number): void {
  const call = how === 'kill' ? `os.kill(${pid}, ${SIGUSR1})` : `gp_launcher.signal_main_thread(${pid}, ${SIGUSR1})`;
  execFileSync(testPython(), ['-c', `import os, sys; sys.path.insert(0, ${JSON.stringify(sharedScripts)}); import gp_launcher; ${call}`]);
}

afterEach(() => killStartedProcesses());

describe('signal_main_thread (gp_launcher)', () => {
  it("delivers to the kernel's main thread, where kill() lets a helper thread take the signal", async () => {
    const bit = 1n << BigInt(SIGUSR1 - 1);
    const viaKill = startProcess(testPython(), ['-c', TARGET]);
    await waitForOutput(viaKill, (t) => t.includes('ready'));
    send('kill', viaKill.child.pid!);
    expect(mainThreadPending(viaKill.child.pid!) & bit).toBe(0n); // the helper thread took it

    const aimed = startProcess(testPython(), ['-c', TARGET]);
    await waitForOutput(aimed, (t) => t.includes('ready'));
    send('signal_main_thread', aimed.child.pid!);
    expect(mainThreadPending(aimed.child.pid!) & bit).toBe(bit); // waiting on the main thread itself
  });

  it('raises ProcessLookupError for a process that is gone', () => {
    const script = `import sys; sys.path.insert(0, ${JSON.stringify(sharedScripts)}); import gp_launcher
try:
    gp_launcher.signal_main_thread(2**22 + 12345, 2)
except ProcessLookupError:
    print("gone")`;
    expect(execFileSync(testPython(), ['-c', script], { encoding: 'utf8' }).trim()).toBe('gone');
  });
});
