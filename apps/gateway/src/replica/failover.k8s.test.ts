/**
 * "A replica dies, nobody notices" (#17), on the testkit's control plane under real RBAC: three `gp-gateway`
 * processes (`--kernel-store kubernetes`) behind a round-robin TCP relay. A replica is SIGKILLed in the middle of
 * an execution (the client reconnects through the relay to another replica, the kernel's variables are intact)
 * and in the middle of a launch (the client gets an error, and the leader removes what the launch created: no
 * pod, no record left); Jupyter Server with --gateway-url through the relay keeps its kernel when the replica
 * carrying its WebSocket dies. Each killed replica is replaced, as its Deployment would.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubeClient } from '@gp/launcher';
import { rbacManifests } from '@gp/rbac';
import { freePorts, repoRoot, testPythonBin, useCluster } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestJupyterServer } from '../e2e/jupyter-server.js';
import { GatewayProcess } from '../threat-model/gateway-process.js';
import { RECORD_LABEL } from '../kube-store.js';
import { KernelSocket } from './kernel-socket.test-helper.js';
import { applyRbac, canI } from './rbac.test-helper.js';
import { RoundRobinRelay } from './relay.test-helper.js';

const GP_IMAGE = 'gp-test/failover-kernel-py:1';
/** A pod that runs but never starts a kernel: its launch stays in progress (until launch_timeout). */
const SLOW_IMAGE = 'gp-test/failover-never-ready:1';
const cluster = useCluster();
const admin = createKubeClient(cluster.kc);
const dir = mkdtempSync(join(tmpdir(), 'gp-gateway-failover-'));
const kernelsDir = join(dir, 'prefix', 'share', 'jupyter', 'kernels');
const token = randomUUID();
let ns: string;
let kubeconfig: string;
let relay: RoundRobinRelay;
const replicas: GatewayProcess[] = [];
const everyProcess: GatewayProcess[] = [];

async function spawnReplica(): Promise<{ proc: GatewayProcess; port: number }> {
  const proc = GatewayProcess.spawn({
    kubeconfig,
    env: {
      GP_NAMESPACE: ns,
      GP_GATEWAY_KERNEL_STORE: 'kubernetes',
      GP_GATEWAY_TOKEN: token,
      GP_GATEWAY_KERNELSPEC_DIRS: kernelsDir,
      GP_GATEWAY_ORPHAN_NAMESPACES: ns,
    },
  });
  everyProcess.push(proc);
  const url = await proc.url();
  return { proc, port: Number(new URL(url).port) };
}

/** SIGKILLs replica `index` and starts a replacement behind the same relay slot. */
async function killAndReplace(index: number): Promise<void> {
  const dead = replicas[index]!;
  dead.proc.kill('SIGKILL');
  await dead.exited;
  const { proc, port } = await spawnReplica();
  replicas[index] = proc;
  relay.ports[index] = port;
}

/** One request through the relay on a connection of its own (no keep-alive: each request is routed anew). */
function api(path: string, init: { method?: string; body?: string } = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${relay.url}${path}`, { method: init.method ?? 'GET', agent: false, headers: { 'Content-Type': 'application/json', Authorization: `token ${token}` } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

const socketUrl = (kernelId: string): string => `${relay.url.replace('http', 'ws')}/api/kernels/${kernelId}/channels?token=${token}&session_id=${randomUUID()}`;

async function kernelPods(kernelId?: string): Promise<string[]> {
  const list = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: kernelId ? `kernel_id=${kernelId}` : 'kernel_id' });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!);
}

async function records(): Promise<Array<{ kernelId: string; launching: boolean }>> {
  const list = await admin.request<{ items: Array<{ metadata: { labels: Record<string, string> }; data: Record<string, string> }> }>({
    method: 'GET',
    path: `/api/v1/namespaces/${ns}/secrets`,
    query: { labelSelector: RECORD_LABEL },
  });
  return list.items.map((s) => ({
    kernelId: s.metadata.labels[RECORD_LABEL]!,
    launching: JSON.parse(Buffer.from(s.data['record.json']!, 'base64').toString('utf8')).launching !== undefined,
  }));
}

/** Runs `code` on a fresh WebSocket through the relay until a replica serves it (retrying while none does). */
async function executeSomewhere(kernelId: string, code: string): Promise<string> {
  return cluster.waitFor(
    async () => {
      const socket = await KernelSocket.open(socketUrl(kernelId)).catch(() => undefined);
      const run = await socket?.execute(code).catch(() => undefined);
      socket?.close();
      return run?.stdout ?? false;
    },
    { timeoutMs: 90_000, description: `a replica to run ${JSON.stringify(code)}` },
  );
}

beforeAll(async () => {
  cluster.registerImage(GP_IMAGE, {
    command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
    env: { PATH: `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`, PYTHONDONTWRITEBYTECODE: '1' },
  });
  execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', join(dir, 'prefix'), '--image-name', GP_IMAGE], { stdio: 'pipe' });
  cluster.registerImage(SLOW_IMAGE, { command: ['sleep', '600'] });
  cpSync(join(kernelsDir, 'k8s_python'), join(kernelsDir, 'k8s_slow'), { recursive: true });
  const slow = JSON.parse(readFileSync(join(kernelsDir, 'k8s_slow', 'kernel.json'), 'utf8'));
  slow.metadata.kernel_provisioner.config.image_name = SLOW_IMAGE;
  writeFileSync(join(kernelsDir, 'k8s_slow', 'kernel.json'), JSON.stringify(slow));
  ns = await cluster.createNamespace('failover');
  await applyRbac(admin, rbacManifests({ appName: 'gw', namespace: ns, kernelStore: 'kubernetes' }));
  const kc = await cluster.kubeConfigForServiceAccount(ns, 'gw');
  await cluster.waitFor(async () => (await canI(kc, ns, 'watch', 'secrets')) && (await canI(kc, ns, 'create', 'pods')), { timeoutMs: 30_000, description: 'the roles to be bound' });
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kc.exportConfig(), { mode: 0o600 });
  const started = await Promise.all([spawnReplica(), spawnReplica(), spawnReplica()]);
  replicas.push(...started.map((s) => s.proc));
  relay = await RoundRobinRelay.start(started.map((s) => s.port));
}, 240_000);

afterAll(async () => {
  await relay?.close();
  for (const p of everyProcess) await p.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('three replicas behind a round-robin relay', () => {
  const kernels: string[] = [];

  it('SIGKILL mid-execution: the client reconnects to another replica and the kernel keeps its variables', async () => {
    const started = await api('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: 'alice' } }) });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const id: string = started.body.id;
    kernels.push(id);
    const socket = await KernelSocket.open(socketUrl(id));
    expect((await socket.execute('x = 42\nprint(x)')).stdout).toBe('42\n');
    const [carrier] = relay.open(new RegExp(`/api/kernels/${id}/channels`));
    expect(carrier).toBeDefined();
    const running = socket.send('import time\nprint("started", flush=True)\ntime.sleep(5)\ny = x + 1\nprint("finished", y, flush=True)');
    await socket.until(() => socket.messages.some((m) => m.parent_header?.msg_id === running && m.content?.text === 'started\n'));

    await killAndReplace(carrier!.backend);
    await socket.until(() => socket.closed);

    // Served again through the relay by a live replica: same kernel, same variables, and the cell that was running finished.
    expect(await executeSomewhere(id, 'print(x)')).toBe('42\n');
    expect(await cluster.waitFor(async () => (await executeSomewhere(id, 'print(globals().get("y"))')) === '43\n' || false, { timeoutMs: 60_000 })).toBe(true);
    expect((await api('/api/kernels')).body.map((k: { id: string }) => k.id)).toContain(id);
    expect(await kernelPods(id)).toHaveLength(1);
  });

  it('SIGKILL mid-launch: the client gets an error and what the launch created is removed', async () => {
    const before = new Set((await records()).map((r) => r.kernelId));
    // A kernelspec whose pod never becomes a kernel: the launch is reliably still in progress when the replica dies.
    const launch = api('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_slow', env: { KERNEL_USERNAME: 'alice' } }) }).then(
      (r) => ({ ok: r.status === 201, detail: JSON.stringify(r.body) }),
      (e: unknown) => ({ ok: false, detail: String(e) }),
    );
    const [carrier] = await cluster.waitFor(() => {
      const open = relay.open(/^POST \/api\/kernels /);
      return open.length ? open : false;
    }, { timeoutMs: 30_000, description: 'the launch request to reach a replica' });
    // Killed once its intent is recorded (its pod is being created): the launch is in progress.
    const intent = await cluster.waitFor(async () => (await records()).find((r) => !before.has(r.kernelId) && r.launching) ?? false, { timeoutMs: 60_000, description: 'the launch intent' });
    await cluster.waitFor(async () => (await kernelPods(intent.kernelId)).length === 1, { timeoutMs: 60_000, description: "the launch's pod" });
    await killAndReplace(carrier!.backend);
    const outcome = await launch;
    expect(outcome.ok, outcome.detail).toBe(false);
    // A live replica (the leader, once the dead one's lease expired) removes the pod and the record.
    await cluster.waitFor(async () => (await kernelPods(intent.kernelId)).length === 0 && !(await records()).some((r) => r.kernelId === intent.kernelId), {
      timeoutMs: 120_000,
      description: "the abandoned launch's pod and record to be removed",
    });
    // The kernel from before is still served.
    expect(await executeSomewhere(kernels[0]!, 'print(x)')).toBe('42\n');
  });

  it('Jupyter Server with --gateway-url through the relay keeps its kernel when the replica carrying it dies', async () => {
    const [port] = await freePorts(1);
    const server = new TestJupyterServer({ port: port!, gatewayUrl: relay.url, gatewayToken: token, dir: join(dir, 'jupyter'), kernelEnv: { KERNEL_USERNAME: 'alice' } });
    try {
      await server.ready();
      const started = await server.request('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_python' }) });
      expect(started.status, server.log.slice(-3000)).toBe(201);
      const id: string = started.body.id;
      kernels.push(id);
      const socket = await KernelSocket.open(`${server.url.replace('http', 'ws')}/api/kernels/${id}/channels?token=${server.token}&session_id=${randomUUID()}`);
      expect((await socket.execute('z = "kept"\nprint(z)')).stdout).toBe('kept\n');
      const [carrier] = await cluster.waitFor(() => {
        const open = relay.open(new RegExp(`/api/kernels/${id}/channels`));
        return open.length ? open : false;
      }, { timeoutMs: 30_000, description: "Jupyter Server's kernel WebSocket through the relay" });
      await killAndReplace(carrier!.backend);
      // Jupyter Server reconnects its gateway WebSocket through the relay (to a live replica); its clients go on.
      const out = await cluster.waitFor(
        async () => {
          const s = await KernelSocket.open(`${server.url.replace('http', 'ws')}/api/kernels/${id}/channels?token=${server.token}&session_id=${randomUUID()}`).catch(() => undefined);
          const run = await Promise.race([s?.execute('print(z)').catch(() => undefined), new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
          s?.close();
          return run?.stdout ?? false;
        },
        { timeoutMs: 120_000, description: 'Jupyter Server to run code on its kernel again' },
      );
      expect(out).toBe('kept\n');
      socket.close();
      expect((await server.request(`/api/kernels/${id}`, { method: 'DELETE' })).status).toBe(204);
    } finally {
      await server.stop();
    }
  });

  it('leaves nothing behind: every kernel shut down through the relay, no pod, no record', async () => {
    for (const id of kernels) {
      const r = await api(`/api/kernels/${id}`, { method: 'DELETE' });
      expect([204, 404]).toContain(r.status);
    }
    await cluster.waitFor(async () => (await kernelPods()).length === 0 && (await records()).length === 0, { timeoutMs: 60_000, description: 'no kernel pod and no record left' });
    expect(replicas.every((r) => r.alive)).toBe(true);
  });
});
