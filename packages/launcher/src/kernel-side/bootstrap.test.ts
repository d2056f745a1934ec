/**
 * The kernel image side as installed: install.sh lays the launchers out as `image-bootstrap install`
 * must, and bootstrap-kernel.sh (the image CMD) dispatches on KERNEL_LANGUAGE from the environment.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResponseListener, sendCommRequest } from '@gp/core';
import { JupyterKernelClient, repoRoot, testPython } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killStartedProcesses, startProcess } from './process.test-helper.js';

const launchers = join(repoRoot, 'packages', 'launcher', 'kernel-launchers');
const bootstrapInTree = join(launchers, 'bootstrap', 'bootstrap-kernel.sh');

/** Runs a script with exactly the given environment (plus PATH). */
function run(script: string, env: Record<string, string>, args: string[] = []) {
  return startProcess('bash', [script, ...args], {
    ...Object.fromEntries(Object.keys(process.env).map((k) => [k, undefined])),
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    ...env,
  });
}

describe('bootstrap-kernel.sh', () => {
  afterAll(() => killStartedProcesses());

  it('requires KERNEL_LANGUAGE', async () => {
    const p = run(bootstrapInTree, { KERNEL_ID: 'k', RESPONSE_ADDRESS: '127.0.0.1:1', PUBLIC_KEY: 'x' });
    await expect(p.exited).resolves.toBe(1);
    expect(p.output()).toContain('KERNEL_LANGUAGE is required');
  });

  it('names every missing variable', async () => {
    const p = run(bootstrapInTree, { KERNEL_LANGUAGE: 'python' });
    await expect(p.exited).resolves.toBe(1);
    expect(p.output()).toContain('missing environment variable(s): KERNEL_ID RESPONSE_ADDRESS PUBLIC_KEY');
  });

  it('accepts the EG_* names and rejects unknown languages', async () => {
    const p = run(bootstrapInTree, { KERNEL_LANGUAGE: 'Cobol', KERNEL_ID: 'k', EG_RESPONSE_ADDRESS: '127.0.0.1:1', EG_PUBLIC_KEY: 'x' });
    await expect(p.exited).resolves.toBe(1);
    expect(p.output()).toContain("unrecognized KERNEL_LANGUAGE 'Cobol'");
  });
});

describe('install.sh + the installed bootstrap', () => {
  const prefix = mkdtempSync(join(tmpdir(), 'gp-image-'));
  let listener: ResponseListener;

  beforeAll(async () => {
    listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
    const install = startProcess('sh', [join(launchers, 'install.sh'), '--languages', 'python,R', '--prefix', prefix]);
    await expect(install.exited).resolves.toBe(0);
  });
  afterAll(async () => {
    killStartedProcesses();
    await listener?.close();
    rmSync(prefix, { recursive: true, force: true });
  });

  it('lays out the launchers and the bootstrap script', () => {
    const mode = (p: string) => statSync(join(prefix, p)).mode & 0o777;
    expect(mode('bootstrap-kernel.sh')).toBe(0o755);
    expect(mode('kernel-launchers/python/scripts/launch_ipykernel.py')).toBe(0o755);
    expect(mode('kernel-launchers/python/scripts/gp_launcher.py')).toBe(0o644);
    expect(mode('kernel-launchers/python/scripts/gp_pool.py')).toBe(0o644);
    expect(mode('kernel-launchers/R/scripts/launch_IRkernel.py')).toBe(0o755);
    expect(mode('kernel-launchers/R/scripts/gp_launcher.py')).toBe(0o644);
    expect(mode('kernel-launchers/R/scripts/gp_spark_init.R')).toBe(0o644);
  });

  it('starts a Python kernel from the environment (EG_* fallbacks), with the payload version the host announced (2)', async () => {
    const kernelId = randomUUID();
    const reg = await listener.register(kernelId);
    const p = run(join(prefix, 'bootstrap-kernel.sh'), {
      KERNEL_LANGUAGE: 'Python',
      KERNEL_ID: kernelId,
      EG_RESPONSE_ADDRESS: reg.responseAddress,
      EG_PUBLIC_KEY: reg.publicKey,
      GP_RESPONSE_VERSIONS: reg.responseVersions,
      GP_PYTHON: testPython(),
    });
    const info = await p.unlessExited(reg.connectionInfo);
    expect(info.response_version).toBe(2);
    const client = await JupyterKernelClient.connect(info, { timeoutMs: 60_000 });
    try {
      await expect(client.execute('1+1')).resolves.toMatchObject({ result: '2' });
      await sendCommRequest({ host: '127.0.0.1', port: info.comm_port! }, { shutdown: 1 }, { secret: info.comm_secret! });
      await client.shutdown();
      await expect(p.exited).resolves.toBe(0);
    } finally {
      client.close();
    }
  }, 90_000);

  it('honours KERNEL_CLASS_NAME and RESPONSE_VERSION', async () => {
    const kernelId = randomUUID();
    const reg = await listener.register(kernelId);
    const p = run(join(prefix, 'bootstrap-kernel.sh'), {
      KERNEL_LANGUAGE: 'python',
      KERNEL_ID: kernelId,
      RESPONSE_ADDRESS: reg.responseAddress,
      PUBLIC_KEY: reg.publicKey,
      RESPONSE_VERSION: '1',
      GP_RESPONSE_VERSIONS: reg.responseVersions, // the override wins over the announcement
      KERNEL_CLASS_NAME: 'ipykernel.ipkernel.NoSuchKernelClass',
      GP_PYTHON: testPython(),
    });
    const code = await p.exited;
    expect(code).not.toBe(0);
    expect(p.output()).toContain('NoSuchKernelClass');
    // The launcher still reported (version 1, as asked) before its kernel failed to import the class.
    const info = await reg.connectionInfo;
    expect(info.response_version).toBe(1);
  }, 60_000);
});
