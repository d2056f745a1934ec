import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JupyterKernelClient, type JupyterConnectionInfo } from './jupyter-client.js';
import { testPython } from './python.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen({ host: '127.0.0.1', port: 0 }, r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('JupyterKernelClient against a real ipykernel', () => {
  let kernel: ChildProcess | undefined;
  let client: JupyterKernelClient | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'gp-jc-'));
  let info: JupyterConnectionInfo;

  beforeAll(async () => {
    info = {
      ip: '127.0.0.1',
      transport: 'tcp',
      shell_port: await freePort(),
      iopub_port: await freePort(),
      stdin_port: await freePort(),
      control_port: await freePort(),
      hb_port: await freePort(),
      key: randomUUID(),
      signature_scheme: 'hmac-sha256',
    };
    const file = join(dir, 'kernel.json');
    writeFileSync(file, JSON.stringify({ ...info, kernel_name: '' }));
    kernel = spawn(testPython(), ['-m', 'ipykernel_launcher', '-f', file], { stdio: 'ignore', detached: true });
    client = await JupyterKernelClient.connect(info, { timeoutMs: 60_000 });
  }, 90_000);

  afterAll(() => {
    client?.close();
    if (kernel?.pid && kernel.exitCode === null) {
      try {
        process.kill(-kernel.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports kernel info and answers heartbeats', async () => {
    const ki = await client!.kernelInfo();
    expect(ki.protocol_version).toMatch(/^5\./);
    expect((ki.language_info as { name: string }).name).toBe('python');
    expect(await client!.heartbeat()).toBe(true);
  });

  it('executes code and collects results, streams and errors', async () => {
    await expect(client!.execute('1+1')).resolves.toMatchObject({ status: 'ok', result: '2' });
    const printed = await client!.execute('import sys; print("out"); print("err", file=sys.stderr)');
    expect(printed.stdout).toBe('out\n');
    expect(printed.stderr).toBe('err\n');
    const failed = await client!.execute('1/0');
    expect(failed.status).toBe('error');
    expect(failed.error?.ename).toBe('ZeroDivisionError');
    // Concurrent requests on one socket are queued, not rejected.
    const [a, b] = await Promise.all([client!.execute('2*3'), client!.execute('"x"*2')]);
    expect([a.result, b.result]).toEqual(['6', "'xx'"]);
  });

  it('cannot talk to the kernel without its signing key', async () => {
    const forged = await JupyterKernelClient.connect(info, { timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(forged).toBeInstanceOf(JupyterKernelClient);
    (forged as JupyterKernelClient).close();
    const wrongKey = JupyterKernelClient.connect({ ...info, key: 'not-the-key' }, { timeoutMs: 3000 });
    await expect(wrongKey).rejects.toThrow(/did not become ready/);
  });

  it('shuts the kernel down over the control channel', async () => {
    const exited = new Promise<number | null>((r) => kernel!.once('exit', (code) => r(code)));
    await expect(client!.shutdown()).resolves.toMatchObject({ status: 'ok', restart: false });
    await expect(exited).resolves.toBe(0);
  });
});
