/**
 * /metrics on the testkit's control plane: a real ipykernel pod launched, executed through a WebSocket,
 * interrupted, restarted, shut down, culled, and a launch failing on a missing image; each scrape parsed by
 * Python's prometheus_client and the values checked to have moved. Also who may scrape: --metrics-port without
 * the token, the main port only with it, and no kernel id or user name in any label.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, repoRoot, testPythonBin, useCluster } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type GatewayHandle } from '../gateway.js';
import { parseExposition, sampleValue, type ParsedFamily } from './prometheus-parser.js';

const GP_IMAGE = 'gp-test/metrics-kernel-py:1';
const MISSING_IMAGE = 'gp-test/metrics-no-such-image:1';
const SPEC = 'k8s_python';

const cluster = useCluster();
const dir = mkdtempSync(join(tmpdir(), 'gp-metrics-k8s-'));
const kernelsDir = join(dir, 'prefix', 'share', 'jupyter', 'kernels');
const token = randomUUID();
let ns: string;
let gateway: GatewayHandle;

async function api(path: string, init: RequestInit = {}, auth: string | undefined = token): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(auth ? { Authorization: `token ${auth}` } : {}) };
  const res = await fetch(`${gateway.url}${path}`, { ...init, headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function scrape(): Promise<{ text: string; families: ParsedFamily[] }> {
  const res = await fetch(gateway.metricsUrl!);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const text = await res.text();
  return { text, families: parseExposition(text) };
}

/** Executes `code` over a kernel WebSocket and resolves with the execute_reply's status. */
function execute(ws: WebSocket, code: string): Promise<string> {
  const msgId = randomUUID();
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData): void => {
      const msg = JSON.parse(data.toString());
      if (msg.parent_header?.msg_id === msgId && msg.header.msg_type === 'execute_reply') {
        ws.off('message', onMessage);
        resolve(msg.content.status);
      }
    };
    ws.on('message', onMessage);
    const header = { msg_id: msgId, msg_type: 'execute_request', session: 's', username: 'alice', date: new Date().toISOString(), version: '5.3' };
    ws.send(JSON.stringify({ channel: 'shell', header, parent_header: {}, metadata: {}, content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true }, buffers: [] }));
  });
}

async function openSocket(kernelId: string): Promise<WebSocket> {
  const ws = new WebSocket(`${gateway.url.replace('http', 'ws')}/api/kernels/${kernelId}/channels?token=${token}`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

beforeAll(async () => {
  const path = `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  cluster.registerImage(GP_IMAGE, {
    command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
    env: { PATH: path, PYTHONDONTWRITEBYTECODE: '1' },
  });
  execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', join(dir, 'prefix'), '--image-name', GP_IMAGE], { stdio: 'pipe' });
  cpSync(join(kernelsDir, SPEC), join(kernelsDir, 'k8s_missing'), { recursive: true });
  const missing = JSON.parse(readFileSync(join(kernelsDir, 'k8s_missing', 'kernel.json'), 'utf8'));
  missing.metadata.kernel_provisioner.config.image_name = MISSING_IMAGE;
  writeFileSync(join(kernelsDir, 'k8s_missing', 'kernel.json'), JSON.stringify(missing));
  ns = await cluster.createNamespace('metrics');
  const [metricsPort] = await freePorts(1);
  gateway = await startGateway({
    ip: '127.0.0.1',
    port: 0,
    metrics_port: metricsPort!,
    token,
    kernelspec_dirs: [kernelsDir],
    state_file: '',
    orphan_namespaces: [ns],
    log_level: 'warn',
    ws_ping_interval: 0,
    kubeConfig: cluster.kc,
    hostEnv: { GP_NAMESPACE: ns, PATH: process.env.PATH },
    responseListener: { ip: '127.0.0.1', port: 0 },
  });
});

afterAll(async () => {
  await gateway?.close({ stopKernels: true }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('gp-gateway /metrics', () => {
  it('--metrics-port serves /metrics without the token and nothing else; the main port only with the token', async () => {
    expect(gateway.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const { families } = await scrape();
    expect(sampleValue(families, 'gp_gateway_kubernetes_api_reachable')).toBe(1);
    const other = new URL('/api/kernels', gateway.metricsUrl);
    expect((await fetch(other, { headers: { Authorization: `token ${token}` } })).status).toBe(404);
    expect((await fetch(gateway.metricsUrl!, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${gateway.url}/metrics`)).status).toBe(403);
    const main = await fetch(`${gateway.url}/metrics`, { headers: { Authorization: `token ${token}` } });
    expect(main.status).toBe(200);
    expect(sampleValue(parseExposition(await main.text()), 'gp_gateway_kubernetes_api_reachable')).toBe(1);
  });

  it('counts a launch, messages over a WebSocket, an interrupt, a restart, a shutdown, a cull and a failed launch', async () => {
    const started = await api('/api/kernels', { method: 'POST', body: JSON.stringify({ name: SPEC, env: { KERNEL_USERNAME: 'alice' } }) });
    expect(started.status).toBe(201);
    const kernelId = started.body.id as string;
    const ws = await openSocket(kernelId);
    expect(await execute(ws, 'print(6*7)')).toBe('ok');
    expect((await api(`/api/kernels/${kernelId}/interrupt`, { method: 'POST' })).status).toBe(204);
    expect((await api(`/api/kernels/${kernelId}/restart`, { method: 'POST' })).status).toBe(200);

    let { text, families } = await scrape();
    expect(sampleValue(families, 'gp_gateway_kernels_running', { kernelspec: SPEC, namespace: ns })).toBe(1);
    expect(sampleValue(families, 'gp_gateway_websockets_open')).toBe(1);
    expect(sampleValue(families, 'gp_gateway_kernel_launches_total', { kernelspec: SPEC, result: 'success', code: '' })).toBe(1);
    expect(sampleValue(families, 'gp_gateway_kernel_launch_duration_seconds_count', { kernelspec: SPEC, result: 'success' })).toBe(1);
    expect(sampleValue(families, 'gp_gateway_kernel_launch_duration_seconds_bucket', { kernelspec: SPEC, result: 'success', le: '+Inf' })).toBe(1);
    expect(sampleValue(families, 'gp_gateway_kernel_launch_duration_seconds_sum', { kernelspec: SPEC })).toBeGreaterThan(0);
    expect(sampleValue(families, 'gp_gateway_kernel_interrupts_total', { kernelspec: SPEC, result: 'success' })).toBe(1);
    expect(sampleValue(families, 'gp_gateway_kernel_restarts_total', { kernelspec: SPEC, result: 'success' })).toBe(1);
    expect(sampleValue(families, 'gp_gateway_messages_relayed_total', { channel: 'shell', direction: 'to_kernel' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(families, 'gp_gateway_messages_relayed_total', { channel: 'shell', direction: 'to_client' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(families, 'gp_gateway_messages_relayed_total', { channel: 'iopub', direction: 'to_client' })).toBeGreaterThanOrEqual(3); // busy, stream, idle
    // The launch and the restart each created a pod; the shared watches listed and watched pods.
    expect(sampleValue(families, 'gp_gateway_kubernetes_requests_total', { verb: 'create', resource: 'pods', code: '201' })).toBeGreaterThanOrEqual(2);
    expect(sampleValue(families, 'gp_gateway_kubernetes_requests_total', { verb: 'list', resource: 'pods', code: '200' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(families, 'gp_gateway_kubernetes_requests_total', { verb: 'watch', resource: 'pods', code: '200' })).toBeGreaterThanOrEqual(1);
    expect(families.find((f) => f.name === 'gp_gateway_kubernetes_watch_reconnects')?.type).toBe('counter');
    expect(sampleValue(families, 'process_resident_memory_bytes')).toBeGreaterThan(1e6);
    expect(sampleValue(families, 'process_open_fds')).toBeGreaterThan(3);
    // Nothing names a kernel or a user: the unauthenticated port tells nobody whose kernels run.
    expect(text).not.toContain(kernelId);
    expect(text).not.toContain('alice');

    ws.close();
    expect((await api(`/api/kernels/${kernelId}`, { method: 'DELETE' })).status).toBe(204);

    const idle = await api('/api/kernels', { method: 'POST', body: JSON.stringify({ name: SPEC, env: { KERNEL_USERNAME: 'bob' } }) });
    expect(idle.status).toBe(201);
    expect(await gateway.kernels.cull({ idleTimeoutSeconds: 1, cullConnected: false, cullBusy: true }, new Date(Date.now() + 60_000))).toEqual([idle.body.id]);

    const failed = await api('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_missing', env: { KERNEL_USERNAME: 'carol' } }) });
    expect(failed.body.code).toBe('GP_KERNEL_IMAGE_PULL_FAILED');

    ({ text, families } = await scrape());
    expect(sampleValue(families, 'gp_gateway_kernels_running')).toBe(0);
    expect(sampleValue(families, 'gp_gateway_websockets_open')).toBe(0);
    expect(sampleValue(families, 'gp_gateway_kernel_shutdowns_total', { kernelspec: SPEC, result: 'success' })).toBe(2);
    expect(sampleValue(families, 'gp_gateway_kernels_culled_total', { kernelspec: SPEC })).toBe(1);
    expect(sampleValue(families, 'gp_gateway_kernel_launches_total', { kernelspec: SPEC, result: 'success' })).toBe(2);
    expect(sampleValue(families, 'gp_gateway_kernel_launches_total', { kernelspec: 'k8s_missing', result: 'failure', code: 'GP_KERNEL_IMAGE_PULL_FAILED' })).toBe(1);
    expect(sampleValue(families, 'gp_gateway_kernel_launch_duration_seconds_count', { kernelspec: 'k8s_missing', result: 'failure' })).toBe(1);
    expect(sampleValue(families, 'gp_gateway_kubernetes_requests_total', { verb: 'delete', resource: 'pods' })).toBeGreaterThanOrEqual(3);
    expect(text).not.toContain(idle.body.id);
  });
});
