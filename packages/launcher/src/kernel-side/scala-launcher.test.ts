/**
 * gp's Scala launcher: a real Apache Toree 0.5.0 kernel (Spark 3.5, Scala 2.12, from scripts/toree-env.sh) behind
 * the same protocol as the Python and R launchers: ports in the range, payload version 2 to a gp host (1 to a
 * host that announces nothing), the authenticated comm port (interrupt, shutdown), and the JVM goes with the
 * launcher.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { type KernelConnectionInfo, ResponseListener, sendCommRequest } from '@gp/core';
import { JupyterKernelClient, repoRoot, testPython } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killStartedProcesses, startProcess, type LauncherProcess } from './process.test-helper.js';
import { scalaValue, startSleepingScalaCell, toreeToolchain } from './toree.js';

const launchToree = join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'scala', 'scripts', 'launch_toree.py');
const START_MS = 240_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("gp's Scala launcher (Apache Toree)", () => {
  const toree = toreeToolchain();
  let listener: ResponseListener;
  let proc: LauncherProcess;
  let info: KernelConnectionInfo;
  let client: JupyterKernelClient;

  beforeAll(async () => {
    listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0, minVersion: 2 });
    const kernelId = randomUUID();
    const reg = await listener.register(kernelId);
    proc = startProcess(
      testPython(),
      [launchToree, '--response-address', reg.responseAddress, '--public-key', reg.publicKey, '--kernel-id', kernelId,
        '--port-range', '41000..42999', '--spark-context-initialization-mode', 'lazy'],
      { GP_KERNEL_SHUTDOWN_GRACE: '2', GP_RESPONSE_VERSIONS: reg.responseVersions, SPARK_HOME: toree.sparkHome, GP_TOREE_ASSEMBLY: toree.assembly },
    );
    info = await proc.unlessExited(reg.connectionInfo);
    client = await JupyterKernelClient.connect(info, { timeoutMs: START_MS });
  }, START_MS + 30_000);

  afterAll(async () => {
    client?.close();
    killStartedProcesses();
    await listener?.close();
  });

  it('reports ports within the range with payload version 2, and runs Scala', async () => {
    expect(info.response_version).toBe(2);
    for (const port of [info.shell_port, info.iopub_port, info.stdin_port, info.hb_port, info.control_port, info.comm_port]) {
      expect(port).toBeGreaterThanOrEqual(41000);
      expect(port).toBeLessThanOrEqual(42999);
    }
    const ki = await client.kernelInfo();
    expect((ki.language_info as { name: string }).name).toBe('scala');
    await expect(client.execute('val x = 6 * 7', { timeoutMs: 120_000 })).resolves.toMatchObject({ status: 'ok' });
      await expect(scalaValue(client, 'x')).resolves.toMatchObject({ status: 'ok', result: expect.stringContaining('42') });
  }, 300_000);

  // Before any Spark use: with Toree's lazy context, the interrupt handler failed creating it and the cell ran on.
  it('is interrupted through the authenticated comm port and stays usable, Spark included', async () => {
    const { sleeping, result: running } = startSleepingScalaCell(client);
    await sleeping;
    await sendCommRequest({ host: '127.0.0.1', port: info.comm_port! }, { signum: 2 }, { secret: info.comm_secret! });
    const result = await running;
    expect(result.status).toBe('error');
    expect(result.error?.ename).toContain('InterruptedException');
    await expect(scalaValue(client, 'x + 1')).resolves.toMatchObject({ status: 'ok', result: expect.stringContaining('43') });
    await expect(scalaValue(client, 'sc.parallelize(1 to 1000).sum')).resolves.toMatchObject({ status: 'ok', result: expect.stringContaining('500500') });
  }, 300_000);

  it('refuses an unauthenticated comm request', async () => {
    await sendCommRequest({ host: '127.0.0.1', port: info.comm_port! }, { shutdown: 1 }).catch(() => undefined);
    await expect(scalaValue(client, 'x')).resolves.toMatchObject({ status: 'ok', result: expect.stringContaining('42') });
    expect(alive(info.pid!)).toBe(true);
  }, 90_000);

  it('ends the JVM on an authenticated comm shutdown', async () => {
    await sendCommRequest({ host: '127.0.0.1', port: info.comm_port! }, { shutdown: 1 }, { secret: info.comm_secret! });
    await expect(proc.exited).resolves.not.toBeNull();
    expect(alive(info.pid!)).toBe(false);
  }, 90_000);
});

describe("gp's Scala launcher, killed", () => {
  it('takes the JVM down with it (SIGKILL to the launcher alone)', async () => {
    const toree = toreeToolchain();
    const listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
    try {
      const kernelId = randomUUID();
      const reg = await listener.register(kernelId);
      const proc = startProcess(
        testPython(),
        [launchToree, '--response-address', reg.responseAddress, '--public-key', reg.publicKey, '--kernel-id', kernelId, '--spark-context-initialization-mode', 'none'],
        { SPARK_HOME: toree.sparkHome, GP_TOREE_ASSEMBLY: toree.assembly },
      );
      const info = await proc.unlessExited(reg.connectionInfo);
      expect(info.response_version).toBe(1); // no GP_RESPONSE_VERSIONS announced: a reference host
      // Only once the JVM runs Toree (the connection information is sent before the kernel has started).
      const client = await JupyterKernelClient.connect(info, { timeoutMs: START_MS });
      client.close();
      expect(alive(info.pid!)).toBe(true);
      process.kill(proc.child.pid!, 'SIGKILL');
      await proc.exited;
      const deadline = Date.now() + 30_000;
      while (alive(info.pid!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(alive(info.pid!)).toBe(false);
    } finally {
      killStartedProcesses();
      await listener.close();
    }
  }, START_MS + 60_000);
});
