/**
 * The launch path under attack, with gp's real Python launcher (the R launcher shares gp_launcher.py):
 * idle connections to the host's response listener or the launcher's comm port must not block a launch
 * or a signal, and the launcher resends its connection information until the host acknowledges it,
 * while still working with a reference host that reads and closes without a word.
 * See packages/core/src/protocol/README.md, "Acknowledgement and admission".
 */
import { randomUUID } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createMemoryLogger, type KernelConnectionInfo, ResponseListener, sendCommRequest } from '@gp/core';
import { repoRoot, testPython } from '@gp/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { killStartedProcesses, startProcess, waitForOutput, type LauncherProcess } from './process.test-helper.js';

const launchIpykernel = join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'python', 'scripts', 'launch_ipykernel.py');

const listeners: ResponseListener[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  killStartedProcesses();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});
afterAll(async () => {
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

async function listener(): Promise<ResponseListener> {
  const l = await ResponseListener.start({ ip: '127.0.0.1', port: 0, logger: createMemoryLogger() });
  listeners.push(l);
  return l;
}

/** gp's launcher as a gp host starts it: the host announces the versions it reads (GP_RESPONSE_VERSIONS). */
function startLauncher(responseAddress: string, publicKey: string, kernelId: string, extraArgs: string[] = [], env: Record<string, string | undefined> = {}): LauncherProcess {
  return startProcess(
    testPython(),
    [launchIpykernel, '--response-address', responseAddress, '--public-key', publicKey, '--kernel-id', kernelId, '--port-range', '0..0', ...extraArgs],
    { GP_KERNEL_SHUTDOWN_GRACE: '1', GP_RESPONSE_VERSIONS: '2,1', ...env },
  );
}

/** Opens `count` connections that never send a byte; resolves once every one is connected (or refused). */
async function idleConnections(host: string, port: number, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<void>((resolve) => {
        const s = connect({ host, port }, () => resolve());
        s.on('error', () => resolve());
        sockets.push(s);
      }),
    ),
  );
}

/** Reads each connection to its end and passes what it read to `onPayload`; answers nothing. */
async function readAndCloseHost(onPayload: (payload: Buffer, index: number) => void): Promise<string> {
  let index = 0;
  const server = createServer({ allowHalfOpen: true }, (s) => {
    const chunks: Buffer[] = [];
    const n = index++;
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => {});
    s.on('end', () => {
      s.end();
      onPayload(Buffer.concat(chunks), n);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

function forward(address: string, payload: Buffer): void {
  const [host, port] = address.split(':') as [string, string];
  const s = connect({ host, port: Number(port) }, () => s.end(payload));
  s.on('error', () => {});
  s.resume();
}

describe('the launch path under attack (gp Python launcher)', () => {
  it('launches while 300 idle connections sit on the response listener, then delivers an interrupt past 20 idle connections on the comm port', async () => {
    const l = await listener();
    await idleConnections('127.0.0.1', l.port, 300);
    const kernelId = randomUUID();
    const reg = await l.register(kernelId);
    const proc = startLauncher(reg.responseAddress, reg.publicKey, kernelId);
    const info: KernelConnectionInfo = await proc.unlessExited(reg.connectionInfo);
    await waitForOutput(proc, (out) => out.includes('Connection information acknowledged'));

    await idleConnections('127.0.0.1', info.comm_port!, 20);
    await expect(
      sendCommRequest({ host: '127.0.0.1', port: info.comm_port! }, { signum: 0 }, { secret: info.comm_secret! }),
    ).resolves.toEqual({ delivered: true, authenticated: true });
  }, 120_000);

  it('resends its connection information until the host acknowledges it', async () => {
    const l = await listener();
    const kernelId = randomUUID();
    const reg = await l.register(kernelId);
    // A host that loses the first two deliveries (reads, closes, no acknowledgement), then passes them on.
    const front = await readAndCloseHost((payload, index) => {
      if (index >= 2) forward(l.responseAddress, payload);
    });
    // The third attempt is forwarded but this front never relays the gp host's ack: the launcher keeps
    // trying; the listener recognises the repeated payload and the launch itself has succeeded.
    const proc = startLauncher(front, reg.publicKey, kernelId, [], { GP_RESPONSE_CONNECT_TIMEOUT: '4' });
    await expect(proc.unlessExited(reg.connectionInfo)).resolves.toMatchObject({ kernel_id: kernelId, response_version: 2 });
    await waitForOutput(proc, (out) => (out.match(/closed without acknowledging/g) ?? []).length >= 3);
  }, 120_000);

  it('gets through to a host that acknowledges after losing deliveries', async () => {
    const l = await listener();
    const kernelId = randomUUID();
    const reg = await l.register(kernelId);
    let lost = 0;
    // Drops (resets) the first two connections outright, then relays both ways to the gp host.
    const relay = createServer({ allowHalfOpen: true }, (inbound) => {
      inbound.on('error', () => {});
      if (lost < 2) {
        lost++;
        inbound.resetAndDestroy();
        return;
      }
      const outbound = connect({ host: '127.0.0.1', port: l.port, allowHalfOpen: true });
      outbound.on('error', () => inbound.destroy());
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    relay.on('error', () => {});
    servers.push(relay);
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const address = relay.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const proc = startLauncher(`127.0.0.1:${port}`, reg.publicKey, kernelId);
    await expect(proc.unlessExited(reg.connectionInfo)).resolves.toMatchObject({ kernel_id: kernelId });
    await waitForOutput(proc, (out) => /acknowledged by .* \(attempt 3\)/.test(out));
    expect(lost).toBe(2);
  }, 120_000);

  it('works with a reference host that reads and closes without acknowledging (nothing announced: payload version 1)', async () => {
    const l = await listener();
    const kernelId = randomUUID();
    const reg = await l.register(kernelId);
    const host = await readAndCloseHost((payload) => forward(l.responseAddress, payload));
    // A reference host announces nothing: the launcher sends version 1 and takes a clean close as delivered.
    const proc = startLauncher(host, reg.publicKey, kernelId, [], { GP_RESPONSE_VERSIONS: undefined });
    await expect(proc.unlessExited(reg.connectionInfo)).resolves.toMatchObject({ kernel_id: kernelId, response_version: 1 });
    await waitForOutput(proc, (out) => out.includes('the host does not acknowledge'));
  }, 120_000);
});
