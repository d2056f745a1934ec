/**
 * gp's R launcher: IRkernel (Debian's r-cran-irkernel, installed by scripts/debian-packages.sh)
 * behind the same protocol as the Python launcher.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { type KernelConnectionInfo, ResponseListener, sendCommRequest } from '@gp/core';
import { JupyterKernelClient, repoRoot, testPython } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killStartedProcesses, startProcess, type LauncherProcess } from './process.test-helper.js';

const launchIRkernel = join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'R', 'scripts', 'launch_IRkernel.py');

describe("gp's R launcher (IRkernel)", () => {
  let listener: ResponseListener;
  let proc: LauncherProcess;
  let info: KernelConnectionInfo;
  let client: JupyterKernelClient;

  beforeAll(async () => {
    try {
      execFileSync('R', ['--slave', '-e', 'stopifnot(requireNamespace("IRkernel", quietly=TRUE))'], { stdio: 'pipe' });
    } catch (err) {
      throw new Error(`R with IRkernel is required: run 'bash scripts/debian-packages.sh' as root (${String(err)})`);
    }
    listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0, minVersion: 2 });
    const kernelId = randomUUID();
    const reg = await listener.register(kernelId);
    proc = startProcess(
      testPython(),
      [launchIRkernel, '--response-address', reg.responseAddress, '--public-key', reg.publicKey, '--kernel-id', kernelId, '--port-range', '0..0'],
      { GP_KERNEL_SHUTDOWN_GRACE: '2', GP_RESPONSE_VERSIONS: reg.responseVersions },
    );
    info = await proc.unlessExited(reg.connectionInfo);
    client = await JupyterKernelClient.connect(info, { timeoutMs: 90_000 });
  }, 150_000);

  afterAll(async () => {
    client?.close();
    killStartedProcesses();
    await listener?.close();
  });

  it('runs R code', async () => {
    expect(info.response_version).toBe(2);
    const ki = await client.kernelInfo();
    expect((ki.language_info as { name: string }).name).toBe('R');
    await expect(client.execute('1+1')).resolves.toMatchObject({ status: 'ok', result: '[1] 2' });
  });

  it('is interrupted through the authenticated comm port', async () => {
    const { sleeping, result: running } = client.startSleepingCell('R');
    await sleeping;
    await sendCommRequest({ host: '127.0.0.1', port: info.comm_port! }, { signum: 2 }, { secret: info.comm_secret! });
    const result = await running;
    expect(result.result).toBeUndefined(); // never reached "finished"
    await expect(client.execute('2*21')).resolves.toMatchObject({ result: '[1] 42' });
  }, 60_000);

  it('ends on an authenticated comm shutdown', async () => {
    await sendCommRequest({ host: '127.0.0.1', port: info.comm_port! }, { shutdown: 1 }, { secret: info.comm_secret! });
    await expect(proc.exited).resolves.not.toBeNull();
    expect(() => process.kill(info.pid!, 0)).toThrow();
  }, 60_000);
});
