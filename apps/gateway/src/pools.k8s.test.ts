/**
 * gp-gateway's warm pools (--kernel-pools) on the testkit's control plane with real ipykernel: a POST gets a
 * pooled pod, which executes over the WebSocket; the pools show in /metrics; pool pods count against
 * --max-kernels (they give way to kernels, never exceed the limit with them); the orphan sweep leaves them alone;
 * the pool refills once kernels are gone; closing the gateway removes them.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, repoRoot, testPythonBin, useCluster } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type GatewayHandle } from './gateway.js';
import { parseExposition, sampleValue } from './metrics/prometheus-parser.js';

const IMAGE = 'gp-test/gateway-pool-kernel-py:1';
const cluster = useCluster();
const dir = mkdtempSync(join(tmpdir(), 'gp-gw-pool-'));
const kernelsDir = join(dir, 'prefix', 'share', 'jupyter', 'kernels');
const token = randomUUID();
let ns: string;
let gateway: GatewayHandle;

async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gateway.url}${path}`, { ...init, headers: { 'Content-Type': 'application/json', Authorization: `token ${token}` } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function poolPods(state: 'waiting' | 'starting'): Promise<number> {
  const text = await (await fetch(gateway.metricsUrl!)).text();
  return sampleValue(parseExposition(text), 'gp_gateway_pool_pods', { pool: 'k8s_python.alice', state }) ?? -1;
}

async function claims(result: string): Promise<number> {
  const text = await (await fetch(gateway.metricsUrl!)).text();
  return sampleValue(parseExposition(text), 'gp_gateway_pool_claims_total', { pool: 'k8s_python.alice', result }) ?? -1;
}

const waitingPods = (n: number) => cluster.waitFor(async () => (await poolPods('waiting')) === n, { timeoutMs: 120_000, description: `${n} pool pods waiting` });

async function livePods(selector: string): Promise<Array<{ name: string; labels: Record<string, string> }>> {
  const list = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: selector });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => ({ name: p.metadata!.name!, labels: p.metadata!.labels ?? {} }));
}

function execute(kernelId: string, code: string): Promise<string> {
  const ws = new WebSocket(`${gateway.url.replace('http', 'ws')}/api/kernels/${kernelId}/channels?token=${token}`);
  const msgId = randomUUID();
  return new Promise<string>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.parent_header?.msg_id === msgId && msg.header.msg_type === 'execute_result') resolve(msg.content.data['text/plain']);
    });
    ws.once('open', () => {
      const header = { msg_id: msgId, msg_type: 'execute_request', session: 's', username: 'u', date: new Date().toISOString(), version: '5.3' };
      ws.send(JSON.stringify({ channel: 'shell', header, parent_header: {}, metadata: {}, content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true }, buffers: [] }));
    });
  }).finally(() => ws.close());
}

beforeAll(async () => {
  cluster.registerImage(IMAGE, {
    command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
    env: { PATH: `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`, PYTHONDONTWRITEBYTECODE: '1', GP_KERNEL_SHUTDOWN_GRACE: '1' },
  });
  execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', join(dir, 'prefix'), '--image-name', IMAGE], { stdio: 'pipe' });
  ns = await cluster.createNamespace('gwpool');
  const [metricsPort] = await freePorts(1);
  gateway = await startGateway({
    ip: '127.0.0.1',
    port: 0,
    metrics_port: metricsPort!,
    token,
    kernelspec_dirs: [kernelsDir],
    state_file: '',
    orphan_namespaces: [ns],
    orphan_policy: 'delete',
    orphan_sweep_interval: 1,
    kernel_pools: [{ kernelspec: 'k8s_python', size: 2, user: 'alice' }],
    max_kernels: 3,
    log_level: 'warn',
    ws_ping_interval: 0,
    kubeConfig: cluster.kc,
    hostEnv: { GP_NAMESPACE: ns, PATH: process.env.PATH },
    responseListener: { ip: '127.0.0.1', port: 0 },
  });
  await waitingPods(2);
}, 180_000);

afterAll(async () => {
  await gateway?.close({ stopKernels: true }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('gp-gateway --kernel-pools', () => {
  const ids: string[] = [];

  it('serves a POST from the pool; the kernel executes; the orphan sweep leaves waiting pool pods alone', async () => {
    const res = await api('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: 'alice' } }) });
    expect(res.status).toBe(201);
    ids.push(res.body.id);
    const [pod] = await livePods(`kernel_id=${res.body.id}`);
    expect(pod!.labels['gp-pool-state']).toBe('claimed');
    await expect(execute(res.body.id, '6*7')).resolves.toBe('42');
    expect(await claims('claimed')).toBe(1);
    // Sweeps ran every second meanwhile (orphan policy delete): the pool is still whole.
    await waitingPods(2);
    expect(await livePods('gp-pool-state=waiting')).toHaveLength(2);
  }, 180_000);

  it('counts pool pods against --max-kernels: kernels take their room, never more than the limit in all', async () => {
    // 1 kernel + 2 pool pods = the limit. A cold launch (another user) makes the pool give a pod up.
    await waitingPods(2);
    const bob = await api('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: 'bob' } }) });
    expect(bob.status).toBe(201);
    ids.push(bob.body.id);
    expect((await livePods(`kernel_id=${bob.body.id}`))[0]!.labels['gp-pool-state']).toBeUndefined();
    await cluster.waitFor(async () => (await livePods('kernel_id')).length === 3, { timeoutMs: 60_000, description: '2 kernels and 1 pool pod, no more' });
    // A launch of the pool's profile claims the last pod: the total stays at the limit.
    const alice = await api('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: 'alice' } }) });
    expect(alice.status).toBe(201);
    ids.push(alice.body.id);
    const refused = await api('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: 'alice' } }) });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toMatch(/GP_KERNEL_LIMIT_REACHED/);
    // Three kernels, and the pool holds nothing: the limit counts both.
    await cluster.waitFor(async () => (await livePods('kernel_id')).length === 3, { timeoutMs: 60_000, description: 'only the 3 kernel pods' });
    expect((await poolPods('waiting')) + (await poolPods('starting'))).toBe(0);
    for (const id of ids) await expect(execute(id, '1+1')).resolves.toBe('2');
  }, 240_000);

  it('refills once the kernels are gone', async () => {
    for (const id of ids) expect((await api(`/api/kernels/${id}`, { method: 'DELETE' })).status).toBe(204);
    await waitingPods(2);
    await cluster.waitFor(async () => (await livePods('kernel_id')).length === 2, { timeoutMs: 60_000, description: 'only the 2 pool pods' });
  }, 180_000);

  it('closing the gateway removes the pool pods and their Secrets', async () => {
    await gateway.close({ stopKernels: true });
    await cluster.waitFor(async () => (await livePods('gp-pool')).length === 0, { timeoutMs: 60_000, description: 'pool pods gone' });
    const secrets = await cluster.core.listNamespacedSecret({ namespace: ns, labelSelector: 'gp-pool' });
    expect(secrets.items).toHaveLength(0);
  }, 120_000);
});
