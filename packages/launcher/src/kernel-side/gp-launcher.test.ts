/**
 * gp's own Python launcher (packages/launcher/kernel-launchers): version 2 payloads, authenticated
 * comm requests, and the version 1 fallback for reference hosts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommRequestError, createMemoryLogger, type KernelConnectionInfo, ResponseListener, sendCommRequest } from '@gp/core';
import { JupyterKernelClient, repoRoot, testPython } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killStartedProcesses, sendRawForReply, startProcess, type LauncherProcess } from './process.test-helper.js';

const launchIpykernel = join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'python', 'scripts', 'launch_ipykernel.py');

async function launch(
  listener: ResponseListener,
  extraArgs: string[] = [],
  env: Record<string, string | undefined> = {},
): Promise<{ proc: LauncherProcess; info: KernelConnectionInfo }> {
  const kernelId = randomUUID();
  const reg = await listener.register(kernelId);
  const proc = startProcess(
    testPython(),
    [launchIpykernel, '--response-address', reg.responseAddress, '--public-key', reg.publicKey, '--kernel-id', kernelId, '--port-range', '0..0', ...extraArgs],
    // As a gp host starts it: the host announces the payload versions it reads.
    { GP_RESPONSE_VERSIONS: reg.responseVersions, ...env },
  );
  const info = await proc.unlessExited(reg.connectionInfo);
  return { proc, info };
}

describe("gp's Python launcher, payload version 2", () => {
  const logger = createMemoryLogger();
  let listener: ResponseListener;
  let proc: LauncherProcess;
  let info: KernelConnectionInfo;
  let client: JupyterKernelClient;

  beforeAll(async () => {
    listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0, minVersion: 2, logger });
    ({ proc, info } = await launch(listener, [], { GP_KERNEL_SHUTDOWN_GRACE: '1' }));
    client = await JupyterKernelClient.connect(info, { timeoutMs: 60_000 });
  }, 120_000);

  afterAll(async () => {
    client?.close();
    killStartedProcesses();
    await listener?.close();
  });

  it('sends version 2 connection information with a comm secret; the kernel is a child of the launcher', () => {
    expect(info.response_version).toBe(2);
    expect(Buffer.from(info.comm_secret!, 'base64')).toHaveLength(32);
    expect(info.pid).not.toBe(proc.child.pid);
    expect(info.pgid).toBe(proc.child.pid);
    expect(proc.output()).not.toContain(info.key);
    expect(proc.output()).not.toContain(info.comm_secret);
  });

  it('runs code', async () => {
    await expect(client.execute('1+1')).resolves.toMatchObject({ status: 'ok', result: '2' });
  });

  it('refuses comm requests that are not authenticated with the secret', async () => {
    const target = { host: '127.0.0.1', port: info.comm_port! };
    // A stranger speaking the reference protocol.
    const reply = await sendRawForReply(`127.0.0.1:${info.comm_port}`, JSON.stringify({ signum: 9 }));
    expect(reply).toContain('"ok": false');
    await expect(sendCommRequest(target, { signum: 9 })).rejects.toBeInstanceOf(CommRequestError);
    await expect(sendCommRequest(target, { signum: 9 }, { secret: randomBytes(32).toString('base64') })).rejects.toThrow(/refused/);
    // A replayed authenticated message (answering an old challenge) fails too.
    const forged = JSON.stringify({ body: '{"signum": 9}', mac: '00'.repeat(32) });
    expect(await sendRawForReply(`127.0.0.1:${info.comm_port}`, forged)).toContain('authentication failed');
    await expect(client.execute('6*7')).resolves.toMatchObject({ result: '42' });
  });

  it('is interrupted by an authenticated comm request', async () => {
    const { sleeping, result: running } = client.startSleepingCell();
    await sleeping;
    await expect(
      sendCommRequest({ host: '127.0.0.1', port: info.comm_port! }, { signum: 2 }, { secret: info.comm_secret! }),
    ).resolves.toEqual({ delivered: true, authenticated: true });
    const result = await running;
    expect(result.error?.ename).toBe('KeyboardInterrupt');
    await expect(client.execute('1+2')).resolves.toMatchObject({ result: '3' });
  }, 60_000);

  it('ends the kernel and itself on an authenticated comm shutdown', async () => {
    await expect(
      sendCommRequest({ host: '127.0.0.1', port: info.comm_port! }, { shutdown: 1 }, { secret: info.comm_secret! }),
    ).resolves.toMatchObject({ delivered: true });
    const code = await proc.exited;
    expect(code).not.toBeNull();
    expect(proc.output()).toContain('shutdown request');
    expect(() => process.kill(info.pid!, 0)).toThrow();
  }, 60_000);
});

describe("gp's Python launcher, payload version 1 (for reference hosts)", () => {
  let listener: ResponseListener;

  beforeAll(async () => {
    listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    killStartedProcesses();
    await listener?.close();
  });

  it('sends a version 1 payload (pycryptodomex backend) and takes plain comm requests', async () => {
    const { proc, info } = await launch(listener, ['--response-version', '1'], { GP_LAUNCHER_CRYPTO: 'pycryptodomex' });
    expect(info.response_version).toBe(1);
    expect(info.comm_secret).toBeUndefined();
    const client = await JupyterKernelClient.connect(info, { timeoutMs: 60_000 });
    try {
      await expect(client.execute('1+1')).resolves.toMatchObject({ result: '2' });
      await expect(sendCommRequest({ host: '127.0.0.1', port: info.comm_port! }, { signum: 0 })).resolves.toEqual({ delivered: true, authenticated: false });
      await expect(sendCommRequest({ host: '127.0.0.1', port: info.comm_port! }, { shutdown: 1 })).resolves.toMatchObject({ delivered: true });
      await client.shutdown();
      await expect(proc.exited).resolves.toBe(0);
    } finally {
      client.close();
    }
  }, 90_000);

  it('takes its kernel down when the launcher itself is killed', async () => {
    const { proc, info } = await launch(listener);
    const kernelPid = info.pid!;
    expect(() => process.kill(kernelPid, 0)).not.toThrow();
    proc.child.kill('SIGKILL'); // the launcher only, not its process group
    await proc.exited;
    // ipykernel polls for its parent (JPY_PARENT_PID) and exits once it is gone.
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        try {
          process.kill(kernelPid, 0);
        } catch {
          clearInterval(poll);
          resolve();
        }
      }, 100);
    });
  }, 60_000);

  it('fails fast with a clear message on bad arguments', async () => {
    const missing = startProcess(testPython(), [launchIpykernel, '--kernel-id', 'k']);
    await expect(missing.exited).resolves.toBe(2);
    expect(missing.output()).toContain('Missing required argument(s): --response-address, --public-key');
    const range = startProcess(testPython(), [launchIpykernel, '--kernel-id', 'k', '--response-address', '127.0.0.1:1', '--public-key', 'AAAA', '--port-range', '100..200']);
    await expect(range.exited).resolves.toBe(2);
    expect(range.output()).toContain("Invalid --port-range '100..200'");
    const version = startProcess(testPython(), [launchIpykernel, '--kernel-id', 'k'], { RESPONSE_VERSION: '7' });
    await expect(version.exited).resolves.toBe(2);
    expect(version.output()).toContain("Invalid RESPONSE_VERSION '7': expected 1 or 2.");
  }, 30_000);
});

describe("gp's Python launcher, payload version negotiation (GP_RESPONSE_VERSIONS)", () => {
  let listener: ResponseListener;

  beforeAll(async () => {
    listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    killStartedProcesses();
    await listener?.close();
  });

  it('sends version 1 when the host announces nothing (a reference host), and says why', async () => {
    const { proc, info } = await launch(listener, [], { GP_RESPONSE_VERSIONS: undefined });
    expect(info.response_version).toBe(1);
    expect(info.comm_secret).toBeUndefined();
    expect(proc.output()).toContain('Payload version 1 (no GP_RESPONSE_VERSIONS from the host: reference host assumed)');
  }, 60_000);

  it('sends the best version the host announced', async () => {
    const two = await launch(listener);
    expect(two.info.response_version).toBe(2);
    expect(two.proc.output()).toContain('Payload version 2 (host reads 2,1)');
    const one = await launch(listener, [], { GP_RESPONSE_VERSIONS: '1' });
    expect(one.info.response_version).toBe(1);
    expect(one.proc.output()).toContain('Payload version 1 (host reads 1)');
  }, 60_000);

  it('lets RESPONSE_VERSION override the announcement', async () => {
    const { proc, info } = await launch(listener, [], { RESPONSE_VERSION: '1' });
    expect(info.response_version).toBe(1);
    expect(proc.output()).toContain('Payload version 1 (RESPONSE_VERSION override)');
  }, 60_000);

  it('fails with a clear message when it cannot send what the host reads', async () => {
    const args = [launchIpykernel, '--kernel-id', 'k', '--response-address', '127.0.0.1:1', '--public-key', 'AAAA'];
    const future = startProcess(testPython(), args, { GP_RESPONSE_VERSIONS: '3' });
    await expect(future.exited).resolves.toBe(2);
    expect(future.output()).toContain('The host reads payload versions 3 (GP_RESPONSE_VERSIONS); this launcher sends 1 or 2.');
    const bad = startProcess(testPython(), args, { GP_RESPONSE_VERSIONS: 'two' });
    await expect(bad.exited).resolves.toBe(2);
    expect(bad.output()).toContain("Invalid GP_RESPONSE_VERSIONS 'two'");
  }, 30_000);
});

describe("gp's Python launcher, Spark initialization (with a stand-in pyspark)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'gp-fake-spark-'));
  const log = join(dir, 'spark.log');
  let listener: ResponseListener;
  let info: KernelConnectionInfo;
  let client: JupyterKernelClient;

  beforeAll(async () => {
    mkdirSync(join(dir, 'pyspark'));
    writeFileSync(join(dir, 'pyspark', '__init__.py'), '');
    writeFileSync(
      join(dir, 'pyspark', 'sql.py'),
      [
        'import os',
        'def _log(line):',
        '    with open(os.environ["FAKE_SPARK_LOG"], "a") as f:',
        '        f.write(line + "\\n")',
        'class _Context:',
        '    def cancelAllJobs(self):',
        '        _log("cancelAllJobs")',
        'class _Session:',
        '    def __init__(self):',
        '        self.sparkContext = _Context()',
        '    def sql(self, query):',
        '        return "sql:" + query',
        '    def stop(self):',
        '        pass',
        'class _Builder:',
        '    def getOrCreate(self):',
        '        _log("getOrCreate")',
        '        return _Session()',
        'class SparkSession:',
        '    builder = _Builder()',
      ].join('\n'),
    );
    listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
    ({ info } = await launch(listener, ['--spark-context-initialization-mode', 'lazy'], { PYTHONPATH: dir, FAKE_SPARK_LOG: log }));
    client = await JupyterKernelClient.connect(info, { timeoutMs: 60_000 });
  }, 120_000);

  afterAll(async () => {
    client?.close();
    killStartedProcesses();
    await listener?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('provides spark, sc and sql, backed by the session built in the background', async () => {
    await expect(client.execute('sql("select 1")')).resolves.toMatchObject({ result: "'sql:select 1'" });
    await expect(client.execute('type(spark).__name__, type(sc).__name__')).resolves.toMatchObject({ result: "('_Session', '_Context')" });
    expect(readFileSync(log, 'utf8').split('\n').filter((l) => l === 'getOrCreate')).toHaveLength(1);
  });

  it('cancels Spark jobs when the kernel is interrupted', async () => {
    const { sleeping, result: running } = client.startSleepingCell();
    await sleeping;
    await sendCommRequest({ host: '127.0.0.1', port: info.comm_port! }, { signum: 2 }, { secret: info.comm_secret! });
    expect((await running).error?.ename).toBe('KeyboardInterrupt');
    await client.execute('1');
    expect(readFileSync(log, 'utf8')).toContain('cancelAllJobs');
  }, 60_000);
});
