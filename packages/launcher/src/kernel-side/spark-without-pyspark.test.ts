/**
 * gp's Python kernel launcher (kernel-launchers/python) with a Spark mode in an image that has no pyspark:
 * the kernel must behave as with `none` (a warning, no placeholders, no Spark signal handling), and an
 * interrupt must stop the running cell instead of ending the kernel.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResponseListener, sendCommRequest, type KernelConnectionInfo } from '@gp/core';
import { JupyterKernelClient, repoRoot, testPython } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killStartedProcesses, startProcess, type LauncherProcess } from './process.test-helper.js';

const launchIpykernel = join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'python', 'scripts', 'launch_ipykernel.py');

// The project venv has pyspark (the real-Spark tests): an image without it is a Python where importing pyspark
// fails, made here by a sitecustomize (on PYTHONPATH, so the kernel process gets it too) whose import hook refuses it.
const noPyspark = mkdtempSync(join(tmpdir(), 'gp-no-pyspark-'));
writeFileSync(
  join(noPyspark, 'sitecustomize.py'),
  [
    'import sys',
    'class _NoPyspark:',
    '    @staticmethod',
    '    def find_spec(name, path=None, target=None):',
    '        if name == "pyspark" or name.startswith("pyspark."):',
    '            raise ModuleNotFoundError(f"No module named {name!r}", name=name)',
    '        return None',
    'sys.meta_path.insert(0, _NoPyspark)',
    '',
  ].join('\n'),
);
afterAll(() => rmSync(noPyspark, { recursive: true, force: true }));

describe.each(['lazy', 'eager'])("gp's Python launcher, --spark-context-initialization-mode %s without pyspark", (mode) => {
  let listener: ResponseListener;
  let launcher: LauncherProcess;
  let info: KernelConnectionInfo;
  let client: JupyterKernelClient;

  beforeAll(async () => {
    listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
    const kernelId = randomUUID();
    const registration = await listener.register(kernelId);
    launcher = startProcess(
      testPython(),
      [launchIpykernel, '--kernel-id', kernelId, '--response-address', registration.responseAddress,
        '--public-key', registration.publicKey, '--port-range', '0..0', '--spark-context-initialization-mode', mode],
      // pyspark refused (see noPyspark); PYTHONNOUSERSITE keeps a user-site pyspark out too.
      { PYTHONNOUSERSITE: '1', PYTHONPATH: noPyspark, GP_RESPONSE_VERSIONS: registration.responseVersions },
    );
    info = await launcher.unlessExited(registration.connectionInfo);
    client = await JupyterKernelClient.connect(info, { timeoutMs: 60_000 });
  }, 120_000);

  afterAll(async () => {
    client?.close();
    killStartedProcesses();
    await listener?.close();
  });

  it('warns that no Spark session is created and defines no spark placeholders', async () => {
    expect(launcher.output()).toMatch(/pyspark is not installed/);
    await expect(client.execute("'spark' in dir(), 'sc' in dir()")).resolves.toMatchObject({ status: 'ok', result: '(False, False)' });
  });

  it('is interrupted by a comm interrupt: the cell ends with KeyboardInterrupt and the kernel lives on', async () => {
    const { sleeping, result: running } = client.startSleepingCell();
    await sleeping;
    await expect(
      sendCommRequest({ host: '127.0.0.1', port: info.comm_port! }, { signum: 2 }, { secret: info.comm_secret! }),
    ).resolves.toMatchObject({ delivered: true });
    expect((await running).error?.ename).toBe('KeyboardInterrupt');
    await expect(client.execute('1+1')).resolves.toMatchObject({ status: 'ok', result: '2' });
    expect(launcher.child.exitCode).toBeNull();
  }, 60_000);
});
