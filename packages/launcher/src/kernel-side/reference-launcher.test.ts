/**
 * Wire compatibility with the reference: Gateway Provisioners' own `launch_ipykernel.py` (with its
 * `server_listener.py`, assembled as `jupyter image-bootstrap install` does) sends its version 1
 * payload to gp's listener, and gp signals it through the comm port.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryLogger, type KernelConnectionInfo, ResponseListener, sendCommRequest } from '@gp/core';
import { JupyterKernelClient, testPython } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killStartedProcesses, startProcess, waitForOutput, type LauncherProcess } from './process.test-helper.js';

describe("the reference launcher (gateway_provisioners' launch_ipykernel.py)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'gp-ref-launcher-'));
  const kernelId = randomUUID();
  const logger = createMemoryLogger();
  let listener: ResponseListener;
  let launcher: LauncherProcess;
  let info: KernelConnectionInfo;
  let client: JupyterKernelClient;

  beforeAll(async () => {
    const python = testPython();
    const pkg = execFileSync(python, ['-c', 'import gateway_provisioners, os; print(os.path.dirname(gateway_provisioners.__file__))'])
      .toString()
      .trim();
    const launchers = join(pkg, 'kernel-launchers');
    copyFileSync(join(launchers, 'python', 'scripts', 'launch_ipykernel.py'), join(dir, 'launch_ipykernel.py'));
    // The python/ copy of server_listener.py is a placeholder; the real one is shared/ (as image-bootstrap copies it).
    copyFileSync(join(launchers, 'shared', 'scripts', 'server_listener.py'), join(dir, 'server_listener.py'));

    listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0, logger });
    const reg = await listener.register(kernelId);
    launcher = startProcess(
      python,
      [
        join(dir, 'launch_ipykernel.py'),
        '--response-address', reg.responseAddress,
        '--public-key', reg.publicKey,
        '--kernel-id', kernelId,
        '--port-range', '0..0',
      ],
      { LOG_LEVEL: 'INFO' },
    );
    info = await launcher.unlessExited(reg.connectionInfo);
    client = await JupyterKernelClient.connect(info, { host: '127.0.0.1', timeoutMs: 60_000 });
  }, 120_000);

  afterAll(async () => {
    client?.close();
    killStartedProcesses();
    await listener?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends version 1 connection information that gp decodes (with a 2048-bit key)', () => {
    expect(info.response_version).toBe(1);
    expect(info.kernel_id).toBe(kernelId);
    expect(info.comm_port).toBeGreaterThan(0);
    expect(info.pid).toBe(launcher.child.pid);
    expect(info.comm_secret).toBeUndefined();
    expect(logger.records.filter((r) => r.message === 'Dropped kernel response payload')).toEqual([]);
  });

  it('runs code', async () => {
    await expect(client.execute('1+1')).resolves.toMatchObject({ status: 'ok', result: '2' });
  });

  it('is interrupted through the comm port', async () => {
    const { sleeping, result: running } = client.startSleepingCell();
    await sleeping;
    await expect(sendCommRequest({ host: '127.0.0.1', port: info.comm_port! }, { signum: 2 })).resolves.toMatchObject({ delivered: true });
    const result = await running;
    expect(result.status).toBe('error');
    expect(result.error?.ename).toBe('KeyboardInterrupt');
    await expect(client.execute('40+2')).resolves.toMatchObject({ result: '42' });
  }, 60_000);

  it('ends on shutdown: the comm listener on a comm-port shutdown, the kernel on shutdown_request', async () => {
    const target = { host: '127.0.0.1', port: info.comm_port! };
    await expect(sendCommRequest(target, { shutdown: 1 })).resolves.toMatchObject({ delivered: true });
    await waitForOutput(launcher, (t) => t.includes('process_requests exiting'));
    await client.shutdown();
    await expect(launcher.exited).resolves.toBe(0);
  }, 60_000);
});
