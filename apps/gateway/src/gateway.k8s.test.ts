/**
 * The gateway on the testkit's control plane: Jupyter Server from the venv, started with --gateway-url,
 * runs a `k8s_python` kernel (a real ipykernel pod on the process node, installed by the built `k8s-spec`
 * CLI) through its own REST and WebSocket API; the gateway restarted mid-session re-attaches; a pod deleted
 * behind the gateway's back is reported gone; policy refusals, bad input, launch failures; nothing left behind.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, repoRoot, testPythonBin, useCluster } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEFAULT_ALLOWED_ENV } from './options.js';
import { startGateway, type GatewayHandle } from './gateway.js';
import type { GatewayOptions } from './options.js';

const GP_IMAGE = 'gp-test/gateway-kernel-py:1';
const MISSING_IMAGE = 'gp-test/gateway-no-such-image:1';
/** Long enough that only a hang reaches it: launches must succeed or fail with their own cause. */
const LAUNCH_TIMEOUT = '110';

const cluster = useCluster();
const dir = mkdtempSync(join(tmpdir(), 'gp-gateway-k8s-'));
const kernelsDir = join(dir, 'prefix', 'share', 'jupyter', 'kernels');
const stateFile = join(dir, 'state', 'kernels.json');
const token = randomUUID();
let ns: string;
let gatewayPort: number;
let gateway: GatewayHandle | undefined;
const gateways: GatewayHandle[] = [];

function gatewayOptions(extra: Partial<GatewayOptions> = {}): GatewayOptions {
  return {
    ip: '127.0.0.1',
    port: gatewayPort,
    token,
    kernelspec_dirs: [kernelsDir],
    state_file: stateFile,
    allowed_env: [...DEFAULT_ALLOWED_ENV, 'KERNEL_UID'],
    orphan_namespaces: [ns],
    log_level: 'warn',
    // Short, so the heartbeat test is quick; every other test's WebSockets live through many pings.
    ws_ping_interval: 1,
    kubeConfig: cluster.kc,
    hostEnv: { GP_NAMESPACE: ns, PATH: process.env.PATH },
    responseListener: { ip: '127.0.0.1', port: 0 },
    ...extra,
  };
}

async function openGateway(extra: Partial<GatewayOptions> = {}): Promise<GatewayHandle> {
  const g = await startGateway(gatewayOptions(extra));
  gateways.push(g);
  return g;
}

async function api(base: string, path: string, init: RequestInit & { auth?: string } = {}): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (init.auth !== '') headers.Authorization = `token ${init.auth ?? token}`;
  const res = await fetch(`${base}${path}`, { ...init, headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: res.status, body };
}

async function kernelPods(kernelId?: string): Promise<string[]> {
  const list = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: kernelId ? `kernel_id=${kernelId}` : 'kernel_id' });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!);
}

function recordedKernels(): string[] {
  if (!existsSync(stateFile)) return [];
  return Object.keys(JSON.parse(readFileSync(stateFile, 'utf8')).kernels);
}

interface WsExecution {
  status: string;
  result?: string;
  stdout: string;
  executionCount?: number;
  ename?: string;
}

/** A Jupyter WebSocket client as JupyterLab uses it (legacy JSON protocol, channel field). */
class KernelSocket {
  private readonly waiters = new Map<string, (msg: any) => void>();
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      const parent = msg.parent_header?.msg_id;
      if (parent) this.waiters.get(parent)?.(msg);
    });
  }

  static async open(url: string): Promise<KernelSocket> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket refused: ${res.statusCode}`)));
    });
    return new KernelSocket(ws);
  }

  execute(code: string, onMessage?: (msg: any) => void): Promise<WsExecution> {
    const msgId = randomUUID();
    const out: WsExecution = { status: 'unknown', stdout: '' };
    return new Promise((resolve) => {
      let replied = false;
      let idle = false;
      const done = (): void => {
        if (replied && idle) {
          this.waiters.delete(msgId);
          resolve(out);
        }
      };
      this.waiters.set(msgId, (msg) => {
        onMessage?.(msg);
        const type = msg.header.msg_type;
        if (msg.channel === 'shell' && type === 'execute_reply') {
          out.status = msg.content.status;
          out.executionCount = msg.content.execution_count;
          if (msg.content.ename) out.ename = msg.content.ename;
          replied = true;
        } else if (type === 'execute_result') out.result = msg.content.data['text/plain'];
        else if (type === 'stream') out.stdout += msg.content.text;
        else if (type === 'error') out.ename = msg.content.ename;
        else if (type === 'status' && msg.content.execution_state === 'idle') idle = true;
        done();
      });
      const header = { msg_id: msgId, msg_type: 'execute_request', session: 'test-session', username: 'alice', date: new Date().toISOString(), version: '5.3' };
      this.ws.send(
        JSON.stringify({
          channel: 'shell',
          header,
          parent_header: {},
          metadata: {},
          content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
          buffers: [],
        }),
      );
    });
  }

  close(): void {
    this.ws.close();
  }
}

/** Jupyter Server from the venv, pointed at the gateway. */
class JupyterServer {
  readonly url: string;
  readonly token = randomUUID();
  private readonly proc: ChildProcess;
  private output = '';

  constructor(port: number, gatewayUrl: string) {
    this.url = `http://127.0.0.1:${port}`;
    const root = join(dir, 'jupyter');
    mkdirSync(join(root, 'work'), { recursive: true });
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('KERNEL_') && !k.startsWith('JUPYTER_')) env[k] = v;
    Object.assign(env, {
      JUPYTER_CONFIG_DIR: join(root, 'config'),
      JUPYTER_DATA_DIR: join(root, 'data'),
      JUPYTER_RUNTIME_DIR: join(root, 'runtime'),
      JUPYTER_PLATFORM_DIRS: '1',
      KERNEL_USERNAME: 'alice',
      KERNEL_LAUNCH_TIMEOUT: LAUNCH_TIMEOUT,
    });
    this.proc = spawn(
      join(testPythonBin(), 'jupyter'),
      [
        'server',
        '--no-browser',
        '--allow-root',
        '--ip=127.0.0.1',
        `--port=${port}`,
        '--ServerApp.port_retries=0',
        `--IdentityProvider.token=${this.token}`,
        `--ServerApp.root_dir=${join(root, 'work')}`,
        `--gateway-url=${gatewayUrl}`,
        `--GatewayClient.auth_token=${token}`,
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc.stdout!.on('data', (d) => (this.output += d));
    this.proc.stderr!.on('data', (d) => (this.output += d));
  }

  async ready(): Promise<void> {
    await cluster.waitFor(
      async () => {
        if (this.proc.exitCode !== null) throw new Error(`jupyter server exited: ${this.output.slice(-2000)}`);
        try {
          return (await fetch(`${this.url}/api/status?token=${this.token}`)).ok;
        } catch {
          return false;
        }
      },
      { timeoutMs: 90_000, description: 'Jupyter Server to serve' },
    );
  }

  request(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
    return api(this.url, path, { ...init, auth: this.token });
  }

  socket(kernelId: string): Promise<KernelSocket> {
    return KernelSocket.open(`${this.url.replace('http', 'ws')}/api/kernels/${kernelId}/channels?token=${this.token}&session_id=${randomUUID()}`);
  }

  get log(): string {
    return this.output;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

beforeAll(async () => {
  const path = `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  cluster.registerImage(GP_IMAGE, {
    command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
    env: { PATH: path, PYTHONDONTWRITEBYTECODE: '1' },
  });
  const prefix = join(dir, 'prefix');
  execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', prefix, '--image-name', GP_IMAGE], { stdio: 'pipe' });
  // A second kernelspec whose image does not exist, for the launch-failure case.
  cpSync(join(kernelsDir, 'k8s_python'), join(kernelsDir, 'k8s_missing'), { recursive: true });
  const missing = JSON.parse(readFileSync(join(kernelsDir, 'k8s_missing', 'kernel.json'), 'utf8'));
  missing.display_name = 'Missing image';
  missing.metadata.kernel_provisioner.config.image_name = MISSING_IMAGE;
  writeFileSync(join(kernelsDir, 'k8s_missing', 'kernel.json'), JSON.stringify(missing));
  ns = await cluster.createNamespace('gw');
  gatewayPort = (await freePorts(1))[0]!;
  gateway = await openGateway();
});

afterAll(async () => {
  for (const g of gateways) await g.close({ stopKernels: true }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('Jupyter Server with --gateway-url runs a k8s_python kernel through the gateway', () => {
  let server: JupyterServer;
  let kernelId: string;
  let socket: KernelSocket;

  beforeAll(async () => {
    const [port] = await freePorts(1);
    server = new JupyterServer(port!, gateway!.url);
    await server.ready();
  });

  afterAll(async () => {
    socket?.close();
    await server?.stop();
  });

  it('lists the gateway\'s kernelspecs', async () => {
    const { status, body } = await server.request('/api/kernelspecs');
    expect(status).toBe(200);
    expect(Object.keys(body.kernelspecs)).toEqual(expect.arrayContaining(['k8s_python', 'k8s_missing']));
    expect(body.kernelspecs.k8s_python.spec.metadata.kernel_provisioner.provisioner_name).toBe('kubernetes-provisioner');
    // The logo, proxied by Jupyter Server from the gateway's /kernelspecs/{name}/{file}.
    expect(body.kernelspecs.k8s_python.resources['logo-64x64']).toMatch(/\/kernelspecs\/k8s_python\/logo-64x64\.png$/);
    const logo = await fetch(`${server.url}/kernelspecs/k8s_python/logo-64x64.png?token=${server.token}`);
    expect(logo.status).toBe(200);
    const bytes = Buffer.from(await logo.arrayBuffer());
    expect(bytes.equals(readFileSync(join(kernelsDir, 'k8s_python', 'logo-64x64.png')))).toBe(true);
  });

  it('starts a kernel as a pod and executes code over the WebSocket', async () => {
    const started = await server.request('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_python' }) });
    expect(started.status, server.log.slice(-3000)).toBe(201);
    kernelId = started.body.id;
    expect(await kernelPods(kernelId)).toEqual([`alice-${kernelId}`]);
    expect(recordedKernels()).toContain(kernelId);
    const model = await api(gateway!.url, `/api/kernels/${kernelId}`);
    expect(model).toMatchObject({ status: 200, body: { id: kernelId, name: 'k8s_python', execution_state: expect.any(String), connections: 0 } });
    socket = await server.socket(kernelId);
    await expect(socket.execute('import os\nprint(os.environ["KERNEL_USERNAME"])\n1+1')).resolves.toMatchObject({ status: 'ok', result: '2', stdout: 'alice\n' });
    const connected = await api(gateway!.url, `/api/kernels/${kernelId}`);
    expect(connected.body.connections).toBe(1);
  });

  it('interrupts a running time.sleep(60)', async () => {
    let sleeping!: () => void;
    const started = new Promise<void>((r) => (sleeping = r));
    const running = socket.execute('import time\nprint("sleeping", flush=True)\ntime.sleep(60)', (m) => {
      if (m.header.msg_type === 'stream' && String(m.content.text).includes('sleeping')) sleeping();
    });
    await started;
    const interrupted = await server.request(`/api/kernels/${kernelId}/interrupt`, { method: 'POST', body: '{}' });
    expect(interrupted.status).toBe(204);
    await expect(running).resolves.toMatchObject({ status: 'error', ename: 'KeyboardInterrupt' });
    await expect(socket.execute('40+2')).resolves.toMatchObject({ result: '42' });
  });

  it('disconnects a WebSocket client that stopped reading (pings unanswered) and keeps the live one', async () => {
    const connections = async (): Promise<number> => (await api(gateway!.url, `/api/kernels/${kernelId}`)).body.connections;
    expect(await connections()).toBe(1); // Jupyter Server's, for `socket`
    // A client straight to the gateway that stops reading after the handshake, like the connection Jupyter
    // Server leaves open when its own client goes away while it is still connecting to the gateway.
    const silent = connect(Number(new URL(gateway!.url).port), '127.0.0.1');
    try {
      silent.write(
        `GET /api/kernels/${kernelId}/channels HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nAuthorization: token ${token}\r\n\r\n`,
      );
      const response = await new Promise<string>((resolve, reject) => {
        silent.once('data', (d) => resolve(d.toString('latin1')));
        silent.once('error', reject);
      });
      expect(response).toMatch(/^HTTP\/1\.1 101 /);
      silent.pause();
      expect(await connections()).toBe(2);
      await cluster.waitFor(async () => (await connections()) === 1, { timeoutMs: 60_000, description: 'the gateway to disconnect the client that stopped reading' });
      // The live connection answered every ping meanwhile and still works.
      await expect(socket.execute('6*7')).resolves.toMatchObject({ status: 'ok', result: '42' });
      expect(await connections()).toBe(1);
    } finally {
      silent.destroy();
    }
  });

  it('restarts the kernel (a fresh interpreter in a new pod, same id) and the open WebSocket follows', async () => {
    const before = await cluster.core.readNamespacedPod({ namespace: ns, name: `alice-${kernelId}` });
    const restarted = await server.request(`/api/kernels/${kernelId}/restart`, { method: 'POST', body: '{}' });
    expect(restarted.status, server.log.slice(-3000)).toBe(200);
    expect(restarted.body.id).toBe(kernelId);
    const after = await cluster.core.readNamespacedPod({ namespace: ns, name: `alice-${kernelId}` });
    expect(after.metadata!.uid).not.toBe(before.metadata!.uid);
    const first = await socket.execute('x = 41\n"x" in dir()');
    expect(first).toMatchObject({ status: 'ok', result: 'True', executionCount: 1 });
  });

  it('a restarted gateway re-attaches to the running kernel: execute again works with the kernel\'s state', async () => {
    socket.close();
    await gateway!.close({ stopKernels: false });
    expect(await kernelPods(kernelId)).toHaveLength(1);
    expect(recordedKernels()).toContain(kernelId);
    gateway = await openGateway();
    expect(gateway.reattached.attached).toContain(kernelId);
    const model = await server.request(`/api/kernels/${kernelId}`);
    expect(model).toMatchObject({ status: 200, body: { id: kernelId } });
    socket = await server.socket(kernelId);
    await expect(socket.execute('x + 1')).resolves.toMatchObject({ status: 'ok', result: '42' });
  });

  it('shuts the kernel down: pod and record gone', async () => {
    socket.close();
    const deleted = await server.request(`/api/kernels/${kernelId}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect(await kernelPods(kernelId)).toEqual([]);
    expect(recordedKernels()).not.toContain(kernelId);
    expect((await api(gateway!.url, `/api/kernels/${kernelId}`)).status).toBe(404);
  });
});

describe('the gateway\'s own API', () => {
  it('a kernel whose pod is deleted behind the gateway\'s back is reported gone and its record removed', async () => {
    const started = await api(gateway!.url, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: 'bob' } }) });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const id = started.body.id as string;
    expect(recordedKernels()).toContain(id);
    // A connected client learns it without asking: a `dead` status, then the socket closes.
    const ws = new WebSocket(`${gateway!.url.replace('http', 'ws')}/api/kernels/${id}/channels?token=${token}`);
    const states: string[] = [];
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.msg_type === 'status') states.push(msg.content.execution_state);
    });
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    await cluster.core.deleteNamespacedPod({ namespace: ns, name: `bob-${id}`, gracePeriodSeconds: 0 });
    await closed;
    expect(states).toContain('dead');
    expect(recordedKernels()).not.toContain(id);
    expect((await api(gateway!.url, `/api/kernels/${id}`)).status).toBe(404);
    const listed = await api(gateway!.url, '/api/kernels');
    expect(listed.body.map((k: { id: string }) => k.id)).not.toContain(id);
    expect(recordedKernels()).not.toContain(id);
  });

  it('refuses a disallowed variable (naming it), an unauthorized user and a prohibited UID with 403, before creating anything', async () => {
    const before = await kernelPods();
    const admin = await api(gateway!.url, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_NAMESPACE: 'kube-system' } }) });
    expect(admin.status).toBe(403);
    expect(admin.body).toMatchObject({ code: 'GP_ENV_NOT_ALLOWED', message: expect.stringContaining('KERNEL_NAMESPACE') });
    const root = await api(gateway!.url, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: 'root' } }) });
    expect(root.status).toBe(403);
    expect(root.body.message).toMatch(/root/);
    const uid = await api(gateway!.url, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: 'carol', KERNEL_UID: '0' } }) });
    expect(uid.status).toBe(403);
    expect(uid.body.message).toMatch(/0/);
    expect(await kernelPods()).toEqual(before);
  });

  it('answers 404 for unknown kernels and kernelspecs, 400 for a bad body, 403 without the token', async () => {
    expect((await api(gateway!.url, `/api/kernels/${randomUUID()}`)).status).toBe(404);
    expect((await api(gateway!.url, `/api/kernels/${randomUUID()}/interrupt`, { method: 'POST' })).status).toBe(404);
    const spec = await api(gateway!.url, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'no_such_spec' }) });
    expect(spec.status).toBe(404);
    expect(spec.body.message).toMatch(/No such kernelspec: no_such_spec. Available: k8s_missing, k8s_python/);
    const bad = await api(gateway!.url, '/api/kernels', { method: 'POST', body: '{"name": ' });
    expect(bad).toMatchObject({ status: 400, body: { message: expect.stringMatching(/not valid JSON/), reason: 'GP_BAD_REQUEST' } });
    expect((await api(gateway!.url, '/api/kernels', { auth: '' })).status).toBe(403);
    expect((await api(gateway!.url, '/api/kernels', { auth: 'wrong' })).status).toBe(403);
    expect((await fetch(`${gateway!.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${gateway!.url}/readyz`)).status).toBe(200);
  });

  it('reports a launch failure with gp\'s cause (image pull) and leaves nothing behind', async () => {
    const failed = await api(gateway!.url, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_missing', env: { KERNEL_USERNAME: 'dave' } }) });
    expect(failed.status).toBe(500);
    expect(failed.body.code).toBe('GP_KERNEL_IMAGE_PULL_FAILED');
    expect(failed.body.reason).toMatch(/ErrImagePull|ImagePullBackOff/);
    expect(failed.body.message).toContain(MISSING_IMAGE);
    await cluster.waitFor(async () => (await kernelPods()).length === 0, { timeoutMs: 60_000, description: 'no kernel pods' });
    expect(recordedKernels()).toEqual([]);
  });

  it('the start-up sweep deletes labelled kernel pods no record owns (orphan_policy delete)', async () => {
    const orphanId = randomUUID();
    await cluster.core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: `orphan-${orphanId}`, labels: { kernel_id: orphanId, app: 'gateway-provisioners', component: 'kernel' } },
        spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] },
      },
    });
    const sweeper = await openGateway({ port: 0, state_file: join(dir, 'other-state.json'), orphan_policy: 'delete' });
    expect(sweeper.orphans).toEqual([{ namespace: ns, pod: `orphan-${orphanId}`, kernelId: orphanId }]);
    await sweeper.close();
    await cluster.waitFor(async () => (await kernelPods(orphanId)).length === 0, { timeoutMs: 60_000, description: 'the orphan pod to go' });
  });

  it('leaves nothing behind', async () => {
    expect(await kernelPods()).toEqual([]);
    expect(recordedKernels()).toEqual([]);
  });
});
