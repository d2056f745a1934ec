/**
 * Threat model, connections (see README.md here): what clients of a kernel's WebSocket can do to a gateway
 * serving real ipykernel pods on the testkit cluster. Many WebSockets on a kernel share one set of ZeroMQ
 * sockets and are capped with a clear refusal; a reset at any moment of an upgrade to a live kernel, or an
 * oversized message, ends only that connection; file descriptors go back when connections close.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, testPythonBin, useCluster } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KernelMonitor } from '../channels.js';
import { startGateway, type GatewayHandle } from '../gateway.js';
import { RESET_STAGES, RecordingClient, openFds, upgradeThenReset } from './attacker.js';

const IMAGE = 'gp-test/threat-connections-py:1';
/** Above the ~256 WebSockets (four ZeroMQ sockets each) that used to exhaust ZeroMQ's 1023-socket context. */
const MANY = 300;
const PER_KERNEL_CAP = MANY;
const TOTAL_CAP = MANY + 5;

const cluster = useCluster();
const dir = mkdtempSync(join(tmpdir(), 'gp-threat-conn-'));
const kernelsDir = join(dir, 'prefix', 'share', 'jupyter', 'kernels');
const token = randomUUID();
let gateway: GatewayHandle;
let port: number;
const kernels: string[] = [];

async function startKernel(user: string): Promise<string> {
  const res = await fetch(`${gateway.url}/api/kernels`, {
    method: 'POST',
    headers: { Authorization: `token ${token}` },
    body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: user } }),
  });
  const body = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(body)).toBe(201);
  kernels.push(body.id);
  return body.id;
}

const channelsUrl = (kernelId: string): string => `${gateway.url.replace(/^http/, 'ws')}/api/kernels/${kernelId}/channels?token=${token}`;

async function openMany(kernelId: string, n: number): Promise<RecordingClient[]> {
  const clients: RecordingClient[] = [];
  for (let i = 0; i < n; i += 50) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => RecordingClient.open(channelsUrl(kernelId))))));
  }
  return clients;
}

async function apiStatus(): Promise<number> {
  return (await fetch(`${gateway.url}/api`, { headers: { Authorization: `token ${token}` } })).status;
}

async function connections(kernelId: string): Promise<number> {
  const res = await fetch(`${gateway.url}/api/kernels/${kernelId}`, { headers: { Authorization: `token ${token}` } });
  return ((await res.json()) as { connections: number }).connections;
}

beforeAll(async () => {
  cluster.registerImage(IMAGE, {
    command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
    env: { PATH: `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`, PYTHONDONTWRITEBYTECODE: '1' },
  });
  execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', join(dir, 'prefix'), '--image-name', IMAGE], { stdio: 'pipe' });
  const ns = await cluster.createNamespace('threat-conn');
  gateway = await startGateway({
    ip: '127.0.0.1',
    port: 0,
    token,
    kernelspec_dirs: [kernelsDir],
    state_file: '',
    orphan_namespaces: [ns],
    log_level: 'error',
    ws_ping_interval: 0,
    ws_max_connections_per_kernel: PER_KERNEL_CAP,
    ws_max_connections: TOTAL_CAP,
    kubeConfig: cluster.kc,
    hostEnv: { GP_NAMESPACE: ns, PATH: process.env.PATH },
    responseListener: { ip: '127.0.0.1', port: 0 },
  });
  port = Number(new URL(gateway.url).port);
});

afterAll(async () => {
  await gateway?.close({ stopKernels: true });
  rmSync(dir, { recursive: true, force: true });
});

describe('threat: many WebSockets', () => {
  let a: string;
  let b: string;

  beforeAll(async () => {
    [a, b] = await Promise.all([startKernel('mallory'), startKernel('trudy')]);
  });

  it(`${MANY} WebSockets on one kernel share one set of ZeroMQ sockets: iopub reaches all, a reply only its sender, fds go back on close`, async () => {
    const baseline = openFds();
    const clients = await openMany(a, MANY);
    try {
      expect(await connections(a)).toBe(MANY);
      // Each connection costs its two TCP ends in this process (client and gateway), nothing per connection
      // in ZeroMQ: four sockets per WebSocket used to cost ~8 more descriptors each.
      expect(openFds() - baseline).toBeLessThanOrEqual(2 * MANY + 40);

      const [first, second] = clients as [RecordingClient, RecordingClient];
      const printed = first.execute('print("to everyone", flush=True)');
      const asked = second.execute('6*7');
      await cluster.waitFor(() => clients.every((c) => c.has(printed, 'stream')), { timeoutMs: 60_000, description: 'the stream output on every WebSocket' });
      await cluster.waitFor(() => first.replyTo(printed) && second.replyTo(asked), { timeoutMs: 60_000, description: 'both execute_replies' });
      expect(first.replyTo(asked)).toBeUndefined();
      expect(second.replyTo(printed)).toBeUndefined();
      expect(clients.slice(2).some((c) => c.replyTo(printed) ?? c.replyTo(asked))).toBe(false);
      expect(second.received.find((m) => m.parent_msg_id === asked && m.msg_type === 'execute_result')?.content).toMatchObject({ data: { 'text/plain': '42' } });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
    await cluster.waitFor(async () => (await connections(a)) === 0 && gateway.webSockets() === 0, { timeoutMs: 30_000, description: 'the gateway to drop the connections' });
    await cluster.waitFor(() => openFds() <= baseline + 8, { timeoutMs: 30_000, description: `file descriptors back near ${baseline} (now ${openFds()})` });
  });

  it('one WebSocket more than the per-kernel cap, or than the total cap, is refused with 503 naming the limit; the gateway serves on', async () => {
    const open: RecordingClient[] = [];
    try {
      open.push(...(await openMany(a, PER_KERNEL_CAP)));
      await expect(RecordingClient.open(channelsUrl(a))).rejects.toThrow(/WebSocket refused: 503 .*--ws-max-connections-per-kernel=300.*GP_TOO_MANY_KERNEL_CONNECTIONS/);
      const onB = await openMany(b, TOTAL_CAP - PER_KERNEL_CAP);
      open.push(...onB);
      await expect(RecordingClient.open(channelsUrl(b))).rejects.toThrow(/WebSocket refused: 503 .*--ws-max-connections=305.*GP_TOO_MANY_CONNECTIONS/);
      expect(await apiStatus()).toBe(200);
      const id = onB[0]!.execute('1+1');
      await cluster.waitFor(() => onB[0]!.replyTo(id), { timeoutMs: 60_000, description: 'an execute_reply while at the cap' });
    } finally {
      await Promise.all(open.map((c) => c.close()));
    }
    await cluster.waitFor(() => gateway.webSockets() === 0, { timeoutMs: 30_000, description: 'the slots to be released' });
    const again = await RecordingClient.open(channelsUrl(a));
    await again.close();
  });

  it('a TCP reset at every stage of an authorized upgrade to a live kernel ends only that connection', async () => {
    for (let round = 0; round < 10; round++) {
      for (const at of RESET_STAGES) await upgradeThenReset(port, `/api/kernels/${a}/channels?token=${token}`, at);
    }
    expect(await apiStatus()).toBe(200);
    await cluster.waitFor(() => gateway.webSockets() === 0, { timeoutMs: 30_000, description: 'no slot held by a reset connection' });
    const client = await RecordingClient.open(channelsUrl(a));
    const id = client.execute('2+2');
    await cluster.waitFor(() => client.replyTo(id), { timeoutMs: 60_000, description: 'an execute_reply after the resets' });
    await client.close();
  });

  it('a message over --ws-max-message-size (default 10 MiB) closes only its connection, with 1009', async () => {
    expect(gateway.settings.ws_max_message_size).toBe(10 * 1024 * 1024);
    const [big, bystander] = await openMany(a, 2) as [RecordingClient, RecordingClient];
    big.ws.send(Buffer.alloc(10 * 1024 * 1024 + 1, 0x20));
    await big.closed;
    expect(big.closeCode).toBe(1009);
    const id = bystander.execute('3+3');
    await cluster.waitFor(() => bystander.replyTo(id), { timeoutMs: 60_000, description: 'the other connection still answered' });
    await bystander.close();
  });
});

describe('fault: the gateway runs out of sockets as a launch finishes', () => {
  it('answers 503 GP_GATEWAY_CHANNELS_UNAVAILABLE and stops the kernel: no pod, no record left', async () => {
    // The kernel's iopub monitor is the first ZeroMQ socket a new kernel needs; make it fail as it does when
    // the process is out of file descriptors.
    const monitor = vi.spyOn(KernelMonitor.prototype, 'connect').mockImplementationOnce(() => {
      throw Object.assign(new Error('Too many open files'), { code: 'EMFILE' });
    });
    try {
      const res = await fetch(`${gateway.url}/api/kernels`, {
        method: 'POST',
        headers: { Authorization: `token ${token}` },
        body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: 'eve' } }),
      });
      const body = (await res.json()) as { code: string; details: { kernelId: string } };
      expect(res.status, JSON.stringify(body)).toBe(503);
      expect(body.code).toBe('GP_GATEWAY_CHANNELS_UNAVAILABLE');
      expect(monitor).toHaveBeenCalled();
      const kernelId = body.details.kernelId;
      await cluster.waitFor(async () => (await cluster.core.listPodForAllNamespaces({ labelSelector: `kernel_id=${kernelId}` })).items.length === 0, {
        timeoutMs: 60_000,
        description: 'the stopped kernel pod to go',
      });
      expect((await gateway.kernels.list()).map((k) => k.id)).not.toContain(kernelId);
    } finally {
      monitor.mockRestore();
    }
    expect(await apiStatus()).toBe(200);
  });
});
