/**
 * CurveZMQ transport encryption through gp-gateway on the test cluster (issue #16): real ipykernel pods on the
 * process node, gp's kernelspec installed by the built `k8s-spec`, the gateway's own REST + WebSocket API.
 *
 * Wire proof: a TCP relay on loopback between the gateway's ZeroMQ sockets and the kernel records every byte;
 * a cell printing a marker is readable in the capture with `--transport-encryption disabled` and absent with
 * the default (`auto`), and the kernel answers the same. A restart gets new keys. `required` with a kernelspec
 * or an image that cannot do it fails the launch with GP_TRANSPORT_ENCRYPTION_UNAVAILABLE and leaves nothing.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KernelConnectionInfo } from '@gp/core';
import { freePorts, relayKernelPorts, repoRoot, testPython, testPythonBin, useCluster } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type GatewayHandle } from './gateway.js';
import type { GatewayOptions } from './options.js';

const GP_IMAGE = 'gp-test/curve-gp-py:1';
/** An image whose launcher predates transport encryption: the reference's launcher, never given the policy. */
const OLD_IMAGE = 'gp-test/curve-old-launcher-py:1';

const cluster = useCluster();
const dir = mkdtempSync(join(tmpdir(), 'gp-curve-'));
const kernelsDir = join(dir, 'prefix', 'share', 'jupyter', 'kernels');
const token = randomUUID();
const gateways: GatewayHandle[] = [];
let ns: string;

async function openGateway(extra: Partial<GatewayOptions> = {}): Promise<GatewayHandle> {
  const g = await startGateway({
    ip: '127.0.0.1',
    port: (await freePorts(1))[0]!,
    token,
    kernelspec_dirs: [kernelsDir],
    state_file: join(dir, `state-${randomUUID()}.json`),
    orphan_namespaces: [ns],
    log_level: 'warn',
    kubeConfig: cluster.kc,
    hostEnv: { GP_NAMESPACE: ns, PATH: process.env.PATH },
    responseListener: { ip: '127.0.0.1', port: 0 },
    ...extra,
  });
  gateways.push(g);
  return g;
}

async function api(g: GatewayHandle, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${g.url}${path}`, { method, headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function kernelPods(kernelId: string): Promise<string[]> {
  const list = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `kernel_id=${kernelId}` });
  return list.items.map((p) => p.metadata!.name!);
}

/** The connection information the gateway holds for a kernel (its provisioner's: the object its sockets use). */
function heldInfo(g: GatewayHandle, id: string): KernelConnectionInfo {
  const kernel = (g.kernels as unknown as { kernels: Map<string, { connectionInfo: KernelConnectionInfo }> }).kernels.get(id);
  if (!kernel) throw new Error(`no kernel ${id}`);
  return kernel.connectionInfo;
}

/** Runs `code` over the gateway's WebSocket; resolves with its stdout once the execute_reply came. */
async function runCell(g: GatewayHandle, id: string, code: string): Promise<{ status: string; stdout: string }> {
  const ws = new WebSocket(`${g.url.replace('http', 'ws')}/api/kernels/${id}/channels?token=${token}`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  try {
    const msgId = randomUUID();
    let stdout = '';
    const reply = new Promise<string>((resolve) => {
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString());
        if (msg.parent_header?.msg_id !== msgId) return;
        if (msg.msg_type === 'stream' && msg.content.name === 'stdout') stdout += msg.content.text;
        if (msg.msg_type === 'execute_reply') resolve(msg.content.status);
      });
    });
    // The reply comes on shell before the last iopub output may have: wait for the idle status too.
    const idle = new Promise<void>((resolve) => {
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString());
        if (msg.parent_header?.msg_id === msgId && msg.msg_type === 'status' && msg.content.execution_state === 'idle') resolve();
      });
    });
    ws.send(JSON.stringify({
      channel: 'shell',
      header: { msg_id: msgId, msg_type: 'execute_request', session: 's', username: 'curve', date: new Date().toISOString(), version: '5.3' },
      parent_header: {},
      metadata: {},
      content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
    }));
    const status = await reply;
    await idle;
    return { status, stdout };
  } finally {
    ws.close();
  }
}

/** Points the gateway's copy of the kernel's connection information at a recording relay; runs a cell through it. */
async function captureThroughRelay(g: GatewayHandle, id: string, marker: string): Promise<{ bytes: Buffer; cell: { status: string; stdout: string } }> {
  const info = heldInfo(g, id);
  const original = { ...info };
  const relay = await relayKernelPorts(info);
  Object.assign(info, { ip: relay.info.ip, shell_port: relay.info.shell_port, iopub_port: relay.info.iopub_port, stdin_port: relay.info.stdin_port, control_port: relay.info.control_port, hb_port: relay.info.hb_port });
  try {
    const cell = await runCell(g, id, `print(${JSON.stringify(marker)})`);
    return { bytes: relay.captured(), cell };
  } finally {
    Object.assign(info, original);
    await relay.close();
  }
}

beforeAll(async () => {
  const path = `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  cluster.registerImage(GP_IMAGE, {
    command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
    env: { PATH: path, PYTHONDONTWRITEBYTECODE: '1' },
  });
  const pkg = execFileSync(testPython(), ['-c', 'import gateway_provisioners, os; print(os.path.dirname(gateway_provisioners.__file__))']).toString().trim();
  const oldDir = join(dir, 'old-image');
  mkdirSync(oldDir, { recursive: true });
  copyFileSync(join(pkg, 'kernel-launchers', 'python', 'scripts', 'launch_ipykernel.py'), join(oldDir, 'launch_ipykernel.py'));
  copyFileSync(join(pkg, 'kernel-launchers', 'shared', 'scripts', 'server_listener.py'), join(oldDir, 'server_listener.py'));
  cluster.registerImage(OLD_IMAGE, {
    command: ['bash', '-c', `exec python ${join(oldDir, 'launch_ipykernel.py')} --kernel-id "$KERNEL_ID" --port-range "$PORT_RANGE" --response-address "$RESPONSE_ADDRESS" --public-key "$PUBLIC_KEY" --spark-context-initialization-mode none`],
    env: { PATH: path, PYTHONDONTWRITEBYTECODE: '1', RESPONSE_VERSION: '1' },
  });
  execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', join(dir, 'prefix'), '--image-name', GP_IMAGE], { stdio: 'pipe' });
  const variant = (name: string, change: (spec: any) => void): void => {
    cpSync(join(kernelsDir, 'k8s_python'), join(kernelsDir, name), { recursive: true });
    const spec = JSON.parse(readFileSync(join(kernelsDir, name, 'kernel.json'), 'utf8'));
    change(spec);
    writeFileSync(join(kernelsDir, name, 'kernel.json'), JSON.stringify(spec));
  };
  variant('k8s_python_plain', (s) => delete s.metadata.supported_encryption);
  variant('k8s_python_old_image', (s) => (s.metadata.kernel_provisioner.config.image_name = OLD_IMAGE));
  ns = await cluster.createNamespace('curve');
}, 120_000);

afterAll(async () => {
  for (const g of gateways) await g.close({ stopKernels: true }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('gp-gateway with CurveZMQ transport encryption', () => {
  it('on the wire: a marker is readable with encryption disabled and absent with auto (the default); a restart gets new keys', async () => {
    const marker = `gp-wire-marker-${randomUUID()}`;

    const clearGateway = await openGateway({ transport_encryption: 'disabled' });
    const clear = await api(clearGateway, 'POST', '/api/kernels', { name: 'k8s_python', env: { KERNEL_USERNAME: 'curve' } });
    expect(clear.status, JSON.stringify(clear.body)).toBe(201);
    expect(heldInfo(clearGateway, clear.body.id).curve_publickey).toBeUndefined();
    const inClear = await captureThroughRelay(clearGateway, clear.body.id, marker);
    expect(inClear.cell).toEqual({ status: 'ok', stdout: `${marker}\n` });
    expect(inClear.bytes.includes(marker)).toBe(true);

    const gw = await openGateway();
    expect(gw.settings.transport_encryption).toBe('auto');
    const started = await api(gw, 'POST', '/api/kernels', { name: 'k8s_python', env: { KERNEL_USERNAME: 'curve' } });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const id = started.body.id as string;
    const keys = { ...heldInfo(gw, id) };
    expect(keys.curve_publickey).toMatch(/^.{40}$/);
    const encrypted = await captureThroughRelay(gw, id, marker);
    expect(encrypted.cell).toEqual({ status: 'ok', stdout: `${marker}\n` });
    expect(encrypted.bytes.length).toBeGreaterThan(1000);
    expect(encrypted.bytes.includes(marker)).toBe(false);
    expect(encrypted.bytes.includes('execute_request')).toBe(false);

    const restarted = await api(gw, 'POST', `/api/kernels/${id}/restart`);
    expect(restarted.status, JSON.stringify(restarted.body)).toBe(200);
    const after = heldInfo(gw, id);
    expect(after.curve_publickey).toMatch(/^.{40}$/);
    expect(after.curve_publickey).not.toBe(keys.curve_publickey);
    expect(after.curve_secretkey).not.toBe(keys.curve_secretkey);
    await expect(runCell(gw, id, 'print(6*7)')).resolves.toEqual({ status: 'ok', stdout: '42\n' });

    for (const [g, k] of [[gw, id], [clearGateway, clear.body.id as string]] as const) {
      expect((await api(g, 'DELETE', `/api/kernels/${k}`)).status).toBe(204);
      await cluster.waitFor(async () => (await kernelPods(k)).length === 0, { timeoutMs: 60_000, description: 'the kernel pod to go' });
    }
  }, 300_000);

  it('required with a kernelspec that does not declare curve fails before anything is created', async () => {
    const gw = await openGateway({ transport_encryption: 'required' });
    const res = await api(gw, 'POST', '/api/kernels', { name: 'k8s_python_plain', env: { KERNEL_USERNAME: 'curve' } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('GP_TRANSPORT_ENCRYPTION_UNAVAILABLE');
    expect(JSON.stringify(res.body)).toContain("does not declare 'curve' in metadata.supported_encryption");
    expect((await api(gw, 'GET', '/api/kernels')).body).toEqual([]);
  }, 120_000);

  it('required with an image whose launcher returns no keys fails the launch naming the image, and leaves no pod', async () => {
    const gw = await openGateway({ transport_encryption: 'required' });
    const before = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: 'kernel_id' });
    const res = await api(gw, 'POST', '/api/kernels', { name: 'k8s_python_old_image', env: { KERNEL_USERNAME: 'curve' } });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(JSON.stringify(res.body)).toContain('GP_TRANSPORT_ENCRYPTION_UNAVAILABLE');
    expect(JSON.stringify(res.body)).toContain('did not return CurveZMQ keys');
    expect((await api(gw, 'GET', '/api/kernels')).body).toEqual([]);
    const known = new Set(before.items.map((p) => p.metadata!.name));
    await cluster.waitFor(async () => (await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: 'kernel_id' })).items.every((p) => known.has(p.metadata!.name)), {
      timeoutMs: 60_000,
      description: 'the failed kernel pod to go',
    });
  }, 180_000);

  it('auto with that image warns and runs in the clear', async () => {
    const gw = await openGateway();
    const res = await api(gw, 'POST', '/api/kernels', { name: 'k8s_python_old_image', env: { KERNEL_USERNAME: 'curve' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(heldInfo(gw, res.body.id).curve_publickey).toBeUndefined();
    await expect(runCell(gw, res.body.id, 'print(1+1)')).resolves.toEqual({ status: 'ok', stdout: '2\n' });
    expect((await api(gw, 'DELETE', `/api/kernels/${res.body.id}`)).status).toBe(204);
  }, 180_000);
});
