/**
 * launch_IRkernel.R: what an R `--spark` kernelspec's bin/run.sh hands to spark-submit. It runs gp's R launcher
 * when the image has what the mode needs, and refuses, naming what is missing, when a Spark mode meets an image
 * without SparkR (pyspark's Spark, used here, has no R/lib/SparkR).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ResponseListener } from '@gp/core';
import { JupyterKernelClient, repoRoot, testPythonBin } from '@gp/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { killStartedProcesses, startProcess } from './process.test-helper.js';
import { toreeToolchain } from './toree.js';

const launchR = join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'R', 'scripts', 'launch_IRkernel.R');
const path = `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`;

describe('launch_IRkernel.R (R with Spark)', () => {
  afterEach(() => killStartedProcesses());

  it('refuses a Spark mode when the image lacks SparkR, naming what is missing, and reports nothing', async () => {
    const listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
    try {
      const kernelId = randomUUID();
      const reg = await listener.register(kernelId);
      const sparkHome = toreeToolchain().sparkHome; // a Spark without R/lib/SparkR
      const proc = startProcess('Rscript', [launchR, '--kernel-id', kernelId, '--response-address', reg.responseAddress, '--public-key', reg.publicKey,
        '--spark-context-initialization-mode', 'lazy'], { PATH: path, SPARK_HOME: sparkHome, R_LIBS: '', R_LIBS_USER: '' });
      expect(await proc.exited).toBe(1);
      expect(proc.output()).toContain("Spark context mode 'lazy' needs SparkR, and this image lacks it");
      expect(proc.output()).toContain(`SPARK_HOME (${sparkHome}) has no R/lib/SparkR`);
      reg.cancel();
      await reg.connectionInfo.catch(() => undefined);
    } finally {
      await listener.close();
    }
  }, 60_000);

  it('runs gp\'s R launcher with the same arguments when nothing is missing (mode none)', async () => {
    const listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
    let client: JupyterKernelClient | undefined;
    try {
      const kernelId = randomUUID();
      const reg = await listener.register(kernelId);
      const proc = startProcess('Rscript', [launchR, '--kernel-id', kernelId, '--response-address', reg.responseAddress, '--public-key', reg.publicKey,
        '--port-range', '0..0', '--spark-context-initialization-mode', 'none'], { PATH: path, GP_RESPONSE_VERSIONS: reg.responseVersions });
      const info = await proc.unlessExited(reg.connectionInfo);
      expect(info.response_version).toBe(2);
      client = await JupyterKernelClient.connect(info, { timeoutMs: 90_000 });
      await expect(client.execute('1+1')).resolves.toMatchObject({ status: 'ok', result: '[1] 2' });
    } finally {
      client?.close();
      await listener.close();
    }
  }, 150_000);
});
