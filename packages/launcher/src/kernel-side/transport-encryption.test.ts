/**
 * CurveZMQ transport encryption with gp's launchers (packages/launcher/kernel-launchers): the host's policy
 * arrives as --transport-encryption; the launcher provisions a fresh Z85 key pair per launch inside the
 * encrypted payload, and the kernel's sockets are CurveZMQ servers. Proven on the wire: a TCP relay between
 * client and kernel captures the bytes; a cell's marker is readable in the clear and absent when encrypted.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { checkTransportEncryptionResponse, isCurveKey, type KernelConnectionInfo, ResponseListener } from '@gp/core';
import { JupyterKernelClient, relayKernelPorts, repoRoot, testPython } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killStartedProcesses, startProcess, type LauncherProcess } from './process.test-helper.js';

const scripts = join(repoRoot, 'packages', 'launcher', 'kernel-launchers');
const launchIpykernel = join(scripts, 'python', 'scripts', 'launch_ipykernel.py');
const launchIRkernel = join(scripts, 'R', 'scripts', 'launch_IRkernel.py');

let listener: ResponseListener;
const clients: JupyterKernelClient[] = [];

beforeAll(async () => {
  listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  for (const c of clients) c.close();
  killStartedProcesses();
  await listener?.close();
});

async function launch(script: string, encryption: string | undefined, env: Record<string, string> = {}): Promise<{ proc: LauncherProcess; info: KernelConnectionInfo }> {
  const kernelId = randomUUID();
  const reg = await listener.register(kernelId);
  const args = [script, '--response-address', reg.responseAddress, '--public-key', reg.publicKey, '--kernel-id', kernelId, '--port-range', '0..0'];
  if (encryption !== undefined) args.push('--transport-encryption', encryption);
  const proc = startProcess(testPython(), args, { GP_RESPONSE_VERSIONS: reg.responseVersions, GP_KERNEL_SHUTDOWN_GRACE: '1', ...env });
  const info = await proc.unlessExited(reg.connectionInfo);
  return { proc, info };
}

async function connect(info: KernelConnectionInfo): Promise<JupyterKernelClient> {
  const client = await JupyterKernelClient.connect(info, { timeoutMs: 60_000 });
  clients.push(client);
  return client;
}

/** Runs a cell printing `marker` through a recording relay; returns the relay's capture. */
async function captureCell(info: KernelConnectionInfo, marker: string): Promise<Buffer> {
  const relay = await relayKernelPorts(info);
  try {
    const client = await connect(relay.info);
    await expect(client.execute(`print(${JSON.stringify(marker)})`)).resolves.toMatchObject({ status: 'ok', stdout: `${marker}\n` });
    client.close();
    return relay.captured();
  } finally {
    await relay.close();
  }
}

describe("gp's Python launcher with --transport-encryption", () => {
  it('auto: returns a valid Z85 key pair in the payload, never in its output, and the kernel serves CurveZMQ', async () => {
    const { proc, info } = await launch(launchIpykernel, 'auto');
    expect(isCurveKey(info.curve_publickey)).toBe(true);
    expect(isCurveKey(info.curve_secretkey)).toBe(true);
    expect(checkTransportEncryptionResponse(info, { policy: 'auto', enabled: true })).toEqual({ encrypted: true });
    expect(proc.output()).not.toContain(info.curve_secretkey);
    expect(proc.output()).toContain('Transport encryption: CurveZMQ (policy auto)');
    const client = await connect(info);
    await expect(client.execute('6*7')).resolves.toMatchObject({ status: 'ok', result: '42' });
    expect(await client.heartbeat(10_000)).toBe(true);
  }, 120_000);

  it('on the wire: a printed marker is readable without encryption and absent with it; the kernel works the same', async () => {
    const marker = `gp-marker-${randomUUID()}`;
    const clear = await launch(launchIpykernel, '');
    expect(clear.info.curve_publickey).toBeUndefined();
    expect((await captureCell(clear.info, marker)).includes(marker)).toBe(true);

    const encrypted = await launch(launchIpykernel, 'required');
    expect(isCurveKey(encrypted.info.curve_publickey)).toBe(true);
    const bytes = await captureCell(encrypted.info, marker);
    expect(bytes.length).toBeGreaterThan(0);
    expect(bytes.includes(marker)).toBe(false);
    expect(bytes.includes('execute_request')).toBe(false);
  }, 180_000);

  it('a new launch (a restart) gets a new key pair', async () => {
    const a = await launch(launchIpykernel, 'auto');
    const b = await launch(launchIpykernel, 'auto');
    expect(b.info.curve_publickey).not.toBe(a.info.curve_publickey);
    expect(b.info.curve_secretkey).not.toBe(a.info.curve_secretkey);
  }, 120_000);

  it.each([['disabled'], [''], ['{transport_encryption}']])('%j: no keys (an unfilled placeholder from an older host counts as none)', async (value) => {
    const { info } = await launch(launchIpykernel, value);
    expect(info.curve_publickey).toBeUndefined();
    expect(info.curve_secretkey).toBeUndefined();
  }, 120_000);
});

describe("gp's R launcher with --transport-encryption (IRkernel cannot serve CurveZMQ)", () => {
  it('required: fails before starting the kernel, naming the cause; nothing is sent to the host', async () => {
    const kernelId = randomUUID();
    const reg = await listener.register(kernelId);
    const proc = startProcess(testPython(), [launchIRkernel, '--response-address', reg.responseAddress, '--public-key', reg.publicKey, '--kernel-id', kernelId, '--transport-encryption', 'required'], {
      GP_RESPONSE_VERSIONS: reg.responseVersions,
      GP_R_BINARY: 'true',
    });
    expect(await proc.exited).toBe(2);
    expect(proc.output()).toContain("Transport encryption is 'required' but cannot be applied: IRkernel does not support CurveZMQ");
    expect(proc.output()).not.toContain('Starting kernel');
    reg.cancel();
  }, 60_000);
});
