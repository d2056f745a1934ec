/**
 * Issue #17 on the testkit's control plane, under real RBAC (only the generated manifests, `kernelStore:
 * 'kubernetes'`): two gp-gateway replicas share their kernels through Secrets. A kernel started through one is
 * listed, executed, interrupted, restarted and shut down through the other; WebSockets on both see its output;
 * its record is a Secret owned by its pod with the key in data only; one replica leads, and only it culls and
 * removes another replica's abandoned launch.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rbacManifests } from '@gp/rbac';
import { createKubeClient, WatchHub } from '@gp/launcher';
import { silentLogger } from '@gp/core';
import { repoRoot, testPythonBin, useCluster } from '@gp/testkit';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayHandle } from './gateway.js';
import { KubernetesKernelStore, RECORD_LABEL, recordSecretName } from './kube-store.js';
import { KernelSocket } from './replica/kernel-socket.test-helper.js';
import { applyRbac, canI } from './replica/rbac.test-helper.js';
import type { GatewayOptions } from './options.js';

const GP_IMAGE = 'gp-test/replicas-kernel-py:1';
const cluster = useCluster();
const dir = mkdtempSync(join(tmpdir(), 'gp-gateway-replicas-'));
const kernelsDir = join(dir, 'prefix', 'share', 'jupyter', 'kernels');
const token = randomUUID();
const admin = createKubeClient(cluster.kc);
let ns: string;
let kcA: KubeConfig;
let kcB: KubeConfig;
const gateways: GatewayHandle[] = [];

function options(kubeConfig: KubeConfig, extra: Partial<GatewayOptions> = {}): GatewayOptions {
  return {
    ip: '127.0.0.1',
    port: 0,
    token,
    kernelspec_dirs: [kernelsDir],
    kernel_store: 'kubernetes',
    orphan_namespaces: [ns],
    log_level: 'warn',
    kubeConfig,
    hostEnv: { GP_NAMESPACE: ns, PATH: process.env.PATH },
    responseListener: { ip: '127.0.0.1', port: 0 },
    ...extra,
  };
}

async function open(kc: KubeConfig, extra: Partial<GatewayOptions> = {}): Promise<GatewayHandle> {
  const g = await startGateway(options(kc, extra));
  gateways.push(g);
  return g;
}

async function api(g: GatewayHandle, path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${g.url}${path}`, { ...init, headers: { 'Content-Type': 'application/json', Authorization: `token ${token}` } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const Socket = {
  open: (g: GatewayHandle, kernelId: string): Promise<KernelSocket> => KernelSocket.open(`${g.url.replace('http', 'ws')}/api/kernels/${kernelId}/channels?token=${token}&session_id=${randomUUID()}`),
};

async function secret(name: string): Promise<any | undefined> {
  return admin.request({ method: 'GET', path: `/api/v1/namespaces/${ns}/secrets/${name}` }).catch((e: { statusCode?: number }) => {
    if (e.statusCode === 404) return undefined;
    throw e;
  });
}

async function kernelPods(kernelId: string): Promise<string[]> {
  const list = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `kernel_id=${kernelId}` });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!);
}

beforeAll(async () => {
  cluster.registerImage(GP_IMAGE, {
    command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
    env: { PATH: `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`, PYTHONDONTWRITEBYTECODE: '1' },
  });
  execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', join(dir, 'prefix'), '--image-name', GP_IMAGE], { stdio: 'pipe' });
  ns = await cluster.createNamespace('replicas');
  await applyRbac(admin, rbacManifests({ appName: 'gw', namespace: ns, kernelStore: 'kubernetes' }));
  kcA = await cluster.kubeConfigForServiceAccount(ns, 'gw');
  kcB = await cluster.kubeConfigForServiceAccount(ns, 'gw');
  await cluster.waitFor(() => canI(kcA, ns, 'watch', 'secrets'), { timeoutMs: 30_000, description: 'the state Role to be bound' });
  await cluster.waitFor(() => canI(kcA, ns, 'create', 'pods'), { timeoutMs: 30_000, description: 'the application Role to be bound' });
});

afterAll(async () => {
  for (const g of gateways) await g.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('two replicas, one set of kernels (state in Secrets)', () => {
  let a: GatewayHandle;
  let b: GatewayHandle;
  let kernelId: string;

  beforeAll(async () => {
    a = await open(kcA);
    b = await open(kcB);
  });

  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('elects exactly one leader', async () => {
    const leaders = [a, b].filter((g) => g.replica?.isLeader);
    expect(leaders).toHaveLength(1);
  });

  it('records a kernel started through A in a Secret owned by its pod, the key only in data', async () => {
    const started = await api(a, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: 'alice' } }) });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    kernelId = started.body.id;
    const s = await secret(recordSecretName(kernelId));
    expect(s.metadata.labels).toEqual({ [RECORD_LABEL]: kernelId });
    expect(s.metadata.annotations ?? {}).toEqual({});
    const [pod] = await kernelPods(kernelId);
    expect(s.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Pod', name: pod })]);
    const record = JSON.parse(Buffer.from(s.data['record.json'], 'base64').toString('utf8'));
    expect(record).toMatchObject({ kernelId, name: 'k8s_python', env: { KERNEL_USERNAME: 'alice' }, replica: a.replica?.id });
    const key: string = record.provisionerInfo.connection_info.key;
    expect(key.length).toBeGreaterThan(10);
    expect(JSON.stringify(s.metadata)).not.toContain(key);
  });

  it('is listed by B, executed through B, and WebSockets on A and B both see the output', async () => {
    const listed = await api(b, '/api/kernels');
    expect(listed.body.map((k: { id: string }) => k.id)).toContain(kernelId);
    const onA = await Socket.open(a, kernelId);
    const onB = await Socket.open(b, kernelId);
    // A's channels are up once it has served a cell (before that, ZeroMQ's slow joiner may drop iopub).
    expect((await onA.execute('1 + 1')).result).toBe('2');
    const run = await onB.execute('x = 42\nprint("from B", x)');
    expect(run).toMatchObject({ status: 'ok', stdout: 'from B 42\n' });
    // A's client sees B's output on iopub (the kernel broadcasts; A's channels relay it).
    await cluster.waitFor(() => onA.messages.some((m) => m.parent_header?.msg_id === run.msgId && m.header.msg_type === 'stream' && m.content.text === 'from B 42\n'), {
      timeoutMs: 30_000,
      description: "B's output on A's WebSocket",
    });
    expect((await onA.execute('x + 1')).result).toBe('43');
    onA.close();
    onB.close();
  });

  it('is interrupted through B, restarted through A (B follows), and shut down through B', async () => {
    const onB = await Socket.open(b, kernelId);
    const sleeping = onB.send('import time\nprint("sleeping", flush=True)\ntime.sleep(60)');
    await cluster.waitFor(() => onB.messages.some((m) => m.parent_header?.msg_id === sleeping && m.content?.text === 'sleeping\n'), { timeoutMs: 30_000, description: 'the cell to run' });
    expect((await api(b, `/api/kernels/${kernelId}/interrupt`, { method: 'POST' })).status).toBe(204);
    expect((await onB.result(sleeping)).ename).toBe('KeyboardInterrupt');
    onB.close();

    const restarted = await api(a, `/api/kernels/${kernelId}/restart`, { method: 'POST' });
    expect(restarted.status, JSON.stringify(restarted.body)).toBe(200);
    // B serves the restarted kernel (a fresh one: x is gone) once it has its new record.
    // A socket B opened on the old pod is closed when B learns of the restart; the client reconnects.
    const fresh = await cluster.waitFor(
      async () => {
        const socket = await Socket.open(b, kernelId).catch(() => undefined);
        const run = await socket?.execute('print("x" in dir())').catch(() => undefined);
        socket?.close();
        return run ?? false;
      },
      { timeoutMs: 60_000, description: 'B to serve the restarted kernel' },
    );
    expect(fresh.stdout).toBe('False\n');
    expect((await secret(recordSecretName(kernelId))).metadata.ownerReferences).toHaveLength(1);

    expect((await api(b, `/api/kernels/${kernelId}`, { method: 'DELETE' })).status).toBe(204);
    expect(await kernelPods(kernelId)).toEqual([]);
    expect(await secret(recordSecretName(kernelId))).toBeUndefined();
    await cluster.waitFor(async () => !(await api(a, '/api/kernels')).body.some((k: { id: string }) => k.id === kernelId), { timeoutMs: 30_000, description: 'A to drop the kernel' });
    expect((await api(a, `/api/kernels/${kernelId}`)).status).toBe(404);
  });
});

/** What a replica killed mid-launch leaves: its intent record (launching: the pod to delete) and the pod. */
async function abandonedLaunch(replica: string): Promise<{ kernelId: string; pod: string }> {
  const kernelId = randomUUID();
  const pod = `alice-${kernelId}`;
  await cluster.core.createNamespacedPod({
    namespace: ns,
    body: { metadata: { name: pod, labels: { kernel_id: kernelId, component: 'kernel' } }, spec: { containers: [{ name: 'kernel', image: 'gp-test/never-pulled:1' }] } },
  });
  const store = new KubernetesKernelStore({ kubeConfig: cluster.kc, hub: WatchHub.forKubeConfig(cluster.kc), namespace: ns, logger: silentLogger });
  await store.put({
    kernelId,
    name: 'k8s_python',
    env: {},
    provisionerInfo: { kernel_id: kernelId },
    started: new Date().toISOString(),
    replica,
    launching: { kernelId, namespace: ns, namespaceMode: 'shared', podName: pod, deleteNamespace: false, objects: [{ apiVersion: 'v1', kind: 'Pod', name: pod, namespace: ns }] },
  });
  store.close();
  return { kernelId, pod };
}

describe('housekeeping happens once, by the leader', () => {
  let c: GatewayHandle;
  let d: GatewayHandle;

  beforeAll(async () => {
    c = await open(kcA, { cull_idle_timeout: 2, cull_interval: 1 });
    d = await open(kcB, { cull_idle_timeout: 2, cull_interval: 1 });
  });

  afterAll(async () => {
    await c.close();
    await d.close();
  });

  it('removes the launch of a replica that died, and leaves a live replica\'s launch alone', async () => {
    const leader = [c, d].find((g) => g.replica?.isLeader)!;
    const other = leader === c ? d : c;
    const dead = await abandonedLaunch('deadbeef');
    const live = await abandonedLaunch(other.replica!.id);
    await cluster.waitFor(async () => (await kernelPods(dead.kernelId)).length === 0 && !(await secret(recordSecretName(dead.kernelId))), {
      timeoutMs: 60_000,
      description: "the leader to remove the dead replica's launch",
    });
    // The leader passed over both records (they are handled in one pass): the live replica's is untouched.
    expect(await secret(recordSecretName(live.kernelId))).toBeDefined();
    expect(await kernelPods(live.kernelId)).toEqual([live.pod]);
    await cluster.core.deleteNamespacedPod({ namespace: ns, name: live.pod, gracePeriodSeconds: 0 });
    await admin.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns}/secrets/${recordSecretName(live.kernelId)}` });
  });

  it('culls an idle kernel once: the leader does, the other replica does not', async () => {
    const leader = [c, d].find((g) => g.replica?.isLeader)!;
    const other = leader === c ? d : c;
    const started = await api(other, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: 'alice' } }) });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const id: string = started.body.id;
    await cluster.waitFor(async () => (await kernelPods(id)).length === 0 && !(await secret(recordSecretName(id))), { timeoutMs: 60_000, description: 'the idle kernel to be culled' });
    const culled = (g: GatewayHandle): number => Number(/gp_gateway_kernels_culled_total\{kernelspec="k8s_python"\} (\d+)/.exec(g.metrics.expose())?.[1] ?? 0);
    expect(culled(leader)).toBe(1);
    expect(culled(other)).toBe(0);
    await cluster.waitFor(async () => (await api(other, '/api/kernels')).body.length === 0, { timeoutMs: 30_000, description: 'the other replica to drop the culled kernel' });
  });
});
