/**
 * gp's Python launcher in a pooled pod's claim mode (gp_pool.py): the kernel process imports and waits with no
 * kernel port open and no key; hostile claims (wrong token, a replayed claim, a claim of a claimed pod) are
 * refused and leave it waiting; a valid claim makes it the claimed kernel, reported as a cold one is.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type KernelConnectionInfo, ResponseListener, sendCommRequest } from '@gp/core';
import { JupyterKernelClient, repoRoot, testPython } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimMac, probeClaimPort, sendClaim } from '../pool/claim.js';
import { killStartedProcesses, sendRawForReply, startProcess, waitForOutput, type LauncherProcess } from './process.test-helper.js';

const launchIpykernel = join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'python', 'scripts', 'launch_ipykernel.py');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The process and its descendants. */
function tree(pid: number): number[] {
  const out = [pid];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    let children = '';
    try {
      children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const c of children.split(' ').filter(Boolean)) out.push(...tree(Number(c)));
  }
  return out;
}

/** TCP ports the processes listen on (from /proc: their socket inodes in LISTEN state). */
function listeningPorts(pids: number[]): number[] {
  const listening = new Map<string, number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A') listening.set(f[9]!, parseInt(f[1]!.split(':').pop()!, 16));
    }
  }
  const ports = new Set<number>();
  for (const pid of pids) {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let link = '';
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && listening.has(m[1]!)) ports.add(listening.get(m[1]!)!);
    }
  }
  return [...ports].sort();
}

describe("gp's Python launcher in claim mode (a pooled pod)", () => {
  const token = randomBytes(32).toString('hex');
  let listener: ResponseListener;
  let proc: LauncherProcess;
  let port: number;
  let info: KernelConnectionInfo;
  let client: JupyterKernelClient;
  const kernelId = randomUUID();
  const target = (): { host: string; port: number } => ({ host: '127.0.0.1', port });

  beforeAll(async () => {
    listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
    port = await freePort();
    // As a pooled pod starts it: placeholders where a cold pod has the kernel's values.
    proc = startProcess(
      testPython(),
      [launchIpykernel, '--response-address', 'pool-claim.invalid:1', '--public-key', 'cG9vbA==', '--kernel-id', 'pool-placeholder', '--port-range', '0..0'],
      { GP_POOL_CLAIM_TOKEN: token, GP_POOL_CLAIM_PORT: String(port), GP_KERNEL_SHUTDOWN_GRACE: '1' },
    );
    await waitForOutput(proc, (t) => t.includes('waiting for a claim'));
  }, 120_000);

  afterAll(async () => {
    client?.close();
    killStartedProcesses();
    await listener?.close();
  });

  it('waits with only the claim port open', async () => {
    await expect(probeClaimPort(target())).resolves.toBe(true);
    expect(listeningPorts(tree(proc.child.pid!))).toEqual([port]);
  });

  it('refuses a claim with the wrong token and keeps waiting', async () => {
    const reg = await listener.register(kernelId);
    const body = { kernel_id: kernelId, response_address: reg.responseAddress, public_key: reg.publicKey, response_versions: reg.responseVersions };
    await expect(sendClaim(target(), randomBytes(32).toString('hex'), body)).rejects.toThrow(/refused the claim.*authentication failed/);
    reg.cancel();
    await expect(probeClaimPort(target())).resolves.toBe(true);
  });

  it('refuses a replayed claim (a valid MAC for another nonce) and a malformed one', async () => {
    const body = JSON.stringify({ kernel_id: kernelId, response_address: '127.0.0.1:1', public_key: 'cG9vbA==', response_versions: '2,1' });
    const replay = JSON.stringify({ body, mac: claimMac(token, 'ab'.repeat(16), body) });
    expect(await sendRawForReply(`127.0.0.1:${port}`, replay)).toContain('authentication failed');
    expect(await sendRawForReply(`127.0.0.1:${port}`, '{"kernel_id": "x"}')).toContain('malformed claim');
    await expect(probeClaimPort(target())).resolves.toBe(true);
  });

  it('becomes the claimed kernel: connection information for its id, code runs, the token is gone', async () => {
    const reg = await listener.register(kernelId);
    await sendClaim(target(), token, { kernel_id: kernelId, response_address: reg.responseAddress, public_key: reg.publicKey, response_versions: reg.responseVersions });
    info = await proc.unlessExited(reg.connectionInfo);
    expect(info.kernel_id).toBe(kernelId);
    expect(info.response_version).toBe(2);
    client = await JupyterKernelClient.connect(info, { timeoutMs: 60_000 });
    await expect(client.execute("import os; (os.environ['KERNEL_ID'], 'GP_POOL_CLAIM_TOKEN' in os.environ, 'GP_POOL_CLAIM_PORT' in os.environ)")).resolves.toMatchObject({
      status: 'ok',
      result: `('${kernelId}', False, False)`,
    });
    expect(proc.output()).not.toContain(token);
  }, 120_000);

  it('refuses a second claim: the claim port is closed', async () => {
    await expect(probeClaimPort(target())).resolves.toBe(false);
    const reg = await listener.register(randomUUID());
    await expect(sendClaim(target(), token, { kernel_id: reg.kernelId, response_address: reg.responseAddress, public_key: reg.publicKey, response_versions: '2,1' })).rejects.toThrow(/Could not claim/);
    reg.cancel();
    await expect(client.execute('6*7')).resolves.toMatchObject({ result: '42' });
  });

  it('is interrupted and shut down as a cold kernel', async () => {
    const { sleeping, result } = client.startSleepingCell();
    await sleeping;
    await sendCommRequest({ host: '127.0.0.1', port: info.comm_port! }, { signum: 2 }, { secret: info.comm_secret! });
    await expect(result).resolves.toMatchObject({ status: 'error', error: { ename: 'KeyboardInterrupt' } });
    await sendCommRequest({ host: '127.0.0.1', port: info.comm_port! }, { shutdown: 1 }, { secret: info.comm_secret! });
    // As a cold launcher: it ends the kernel (SIGTERM after the grace period) and itself.
    expect(await proc.exited).not.toBeNull();
    expect(() => process.kill(info.pid!, 0)).toThrow();
  }, 120_000);
});
