/**
 * The gateway's lifecycle on the testkit's control plane: the `gp-gateway` command configured through
 * GP_GATEWAY_* env (generated token on stderr, SIGTERM with shutdown_policy=stop stops its kernels), idle
 * culling, and `input()` over the stdin channel of the WebSocket.
 */
import { spawn, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@gp/core';
import { repoRoot, testPythonBin, useCluster } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type GatewayHandle } from './gateway.js';

const GP_IMAGE = 'gp-test/gateway-lifecycle-py:1';
/** A "kernel" that starts but never reports its connection information. */
const SILENT_IMAGE = 'gp-test/gateway-silent:1';
const cluster = useCluster();
const dir = mkdtempSync(join(tmpdir(), 'gp-gateway-life-'));
const kernelsDir = join(dir, 'prefix', 'share', 'jupyter', 'kernels');
let ns: string;
const gateways: GatewayHandle[] = [];

async function post(url: string, token: string, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { Authorization: `token ${token}` }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

async function kernelPods(kernelId: string): Promise<number> {
  const list = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `kernel_id=${kernelId}` });
  return list.items.length;
}

beforeAll(async () => {
  cluster.registerImage(GP_IMAGE, {
    command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
    env: { PATH: `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`, PYTHONDONTWRITEBYTECODE: '1' },
  });
  execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', join(dir, 'prefix'), '--image-name', GP_IMAGE], {
    stdio: 'pipe',
  });
  cluster.registerImage(SILENT_IMAGE, { command: ['sleep', '3600'] });
  cpSync(join(kernelsDir, 'k8s_python'), join(kernelsDir, 'k8s_silent'), { recursive: true });
  const silent = JSON.parse(readFileSync(join(kernelsDir, 'k8s_silent', 'kernel.json'), 'utf8'));
  silent.metadata.kernel_provisioner.config.image_name = SILENT_IMAGE;
  silent.metadata.kernel_provisioner.config.launch_timeout = 300;
  writeFileSync(join(kernelsDir, 'k8s_silent', 'kernel.json'), JSON.stringify(silent));
  cpSync(join(kernelsDir, 'k8s_python'), join(kernelsDir, 'k8s_message'), { recursive: true });
  const message = JSON.parse(readFileSync(join(kernelsDir, 'k8s_message', 'kernel.json'), 'utf8'));
  message.interrupt_mode = 'message';
  writeFileSync(join(kernelsDir, 'k8s_message', 'kernel.json'), JSON.stringify(message));
  ns = await cluster.createNamespace('gwlife');
});

afterAll(async () => {
  for (const g of gateways) await g.close({ stopKernels: true }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('the gp-gateway command', () => {
  it('runs from GP_GATEWAY_* env with a generated token, and on SIGTERM with shutdown_policy=stop stops its kernels', async () => {
    const stateFile = join(dir, 'cli-state.json');
    const proc = spawn(process.execPath, ['--conditions=@gp/source', '--import', 'tsx', join(repoRoot, 'apps', 'gateway', 'src', 'bin', 'gp-gateway.ts')], {
      cwd: join(repoRoot, 'apps', 'gateway'),
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: dir,
        KUBECONFIG: cluster.kubeconfigPath,
        GP_NAMESPACE: ns,
        GP_RESPONSE_IP: '127.0.0.1',
        GP_RESPONSE_PORT: '0',
        GP_GATEWAY_PORT: '0',
        GP_GATEWAY_KERNELSPEC_DIRS: kernelsDir,
        GP_GATEWAY_STATE_FILE: stateFile,
        GP_GATEWAY_SHUTDOWN_POLICY: 'stop',
        GP_GATEWAY_LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    try {
      const url = await cluster.waitFor(() => /^(http:\/\/\S+)$/m.exec(stdout)?.[1], { timeoutMs: 60_000, description: `the gateway URL on stdout (stderr: ${stderr})` });
      const token = /generated token[^:]*: ([0-9a-f]+)/.exec(stderr)?.[1];
      expect(token).toMatch(/^[0-9a-f]{48}$/);
      // The token is printed once, outside the structured logs.
      const logLines = stderr.split('\n').filter((l) => l.startsWith('{'));
      expect(logLines.length).toBeGreaterThan(0);
      for (const line of logLines) expect(line).not.toContain(token!);
      expect((await fetch(`${url}/api/kernels`)).status).toBe(403);
      const started = await post(url, token!, '/api/kernels', { name: 'k8s_python', env: { KERNEL_USERNAME: 'erin' } });
      expect(started.status, JSON.stringify(started.body)).toBe(201);
      expect(await kernelPods(started.body.id)).toBe(1);
      expect(Object.keys(JSON.parse(readFileSync(stateFile, 'utf8')).kernels)).toEqual([started.body.id]);
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
      await cluster.waitFor(async () => (await kernelPods(started.body.id)) === 0, { timeoutMs: 60_000, description: 'the kernel pod to go' });
      expect(JSON.parse(readFileSync(stateFile, 'utf8')).kernels).toEqual({});
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
  });

  it('exits 2 with the option named for a bad setting', () => {
    let status: number | null = null;
    let stderr = '';
    try {
      execFileSync(process.execPath, ['--conditions=@gp/source', '--import', 'tsx', join(repoRoot, 'apps', 'gateway', 'src', 'bin', 'gp-gateway.ts'), '--cull-interval=0'], {
        cwd: join(repoRoot, 'apps', 'gateway'),
        stdio: 'pipe',
      });
    } catch (e) {
      status = (e as { status: number }).status;
      stderr = String((e as { stderr: Buffer }).stderr);
    }
    expect(status).toBe(2);
    expect(stderr).toMatch(/Invalid value "0" for --cull-interval.*a positive integer/);
  });
});

describe('in-process gateway', () => {
  let gateway: GatewayHandle;
  const token = randomUUID();
  // The periodic culler runs, but nothing is idle for an hour within a test: whether a kernel is culled is
  // decided below by a culling pass at a clock the test chooses, not by how fast this machine gets from the
  // POST to the WebSocket (a 2 s idle timeout culled the kernel before the test connected on a loaded machine).
  const policy = { idleTimeoutSeconds: 3600, cullConnected: false, cullBusy: false };
  const anHourLater = () => new Date(Date.now() + 2 * 3600_000);

  beforeAll(async () => {
    gateway = await startGateway({
      port: 0,
      token,
      kernelspec_dirs: [kernelsDir],
      state_file: join(dir, 'state.json'),
      orphan_namespaces: [ns],
      cull_idle_timeout: policy.idleTimeoutSeconds,
      cull_interval: 1,
      log_level: 'warn',
      kubeConfig: cluster.kc,
      hostEnv: { GP_NAMESPACE: ns, PATH: process.env.PATH },
      responseListener: { ip: '127.0.0.1', port: 0 },
    });
    gateways.push(gateway);
  });

  it('answers input() through the stdin channel of the same WebSocket; an idle kernel is culled only once disconnected', async () => {
    const started = await post(gateway.url, token, '/api/kernels', { name: 'k8s_python', env: { KERNEL_USERNAME: 'frank' } });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const id = started.body.id as string;
    const ws = new WebSocket(`${gateway.url.replace('http', 'ws')}/api/kernels/${id}/channels?token=${token}`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const msgId = randomUUID();
    const header = (type: string, msg_id = randomUUID()) => ({ msg_id, msg_type: type, session: 's', username: 'frank', date: new Date().toISOString(), version: '5.3' });
    const result = new Promise<string>((resolve) => {
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString());
        if (msg.channel === 'stdin' && msg.msg_type === 'input_request') {
          ws.send(JSON.stringify({ channel: 'stdin', header: header('input_reply'), parent_header: msg.header, metadata: {}, content: { value: 'gateway' } }));
        }
        if (msg.msg_type === 'execute_result' && msg.parent_header.msg_id === msgId) resolve(msg.content.data['text/plain']);
      });
    });
    ws.send(
      JSON.stringify({
        channel: 'shell',
        header: header('execute_request', msgId),
        parent_header: {},
        metadata: {},
        content: { code: 'name = input("who? ")\nname.upper()', silent: false, store_history: true, user_expressions: {}, allow_stdin: true, stop_on_error: true },
      }),
    );
    await expect(result).resolves.toBe("'GATEWAY'");
    // Idle for "two hours" but connected: protected (cull_connected is off).
    await expect(gateway.kernels.cull(policy, anHourLater())).resolves.toEqual([]);
    ws.close();
    // Disconnected (once the gateway has seen the close) and idle past the timeout: culled.
    await cluster.waitFor(async () => (await gateway.kernels.cull(policy, anHourLater())).includes(id), {
      timeoutMs: 60_000,
      description: 'the disconnected idle kernel to be culled',
    });
    const gone = await fetch(`${gateway.url}/api/kernels/${id}`, { headers: { Authorization: `token ${token}` } });
    expect(gone.status).toBe(404);
    await cluster.waitFor(async () => (await kernelPods(id)) === 0, { timeoutMs: 60_000, description: 'the culled kernel pod to go' });
    expect(existsSync(join(dir, 'state.json')) ? JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).kernels : {}).toEqual({});
  });
});

describe('the periodic culler', () => {
  it('shuts down a kernel nobody connects to once it is idle past cull_idle_timeout', async () => {
    const token = randomUUID();
    const gateway = await startGateway({
      port: 0,
      token,
      kernelspec_dirs: [kernelsDir],
      state_file: join(dir, 'cull-state.json'),
      orphan_namespaces: [ns],
      cull_idle_timeout: 1,
      cull_interval: 1,
      log_level: 'warn',
      kubeConfig: cluster.kc,
      hostEnv: { GP_NAMESPACE: ns, PATH: process.env.PATH },
      responseListener: { ip: '127.0.0.1', port: 0 },
    });
    gateways.push(gateway);
    const started = await post(gateway.url, token, '/api/kernels', { name: 'k8s_python', env: { KERNEL_USERNAME: 'ivan' } });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const id = started.body.id as string;
    // Culling is the expected outcome whatever the timing: nothing here races the timer.
    await cluster.waitFor(async () => (await fetch(`${gateway.url}/api/kernels/${id}`, { headers: { Authorization: `token ${token}` } })).status === 404, {
      timeoutMs: 60_000,
      description: 'the idle kernel to be culled by the periodic culler',
    });
    await cluster.waitFor(async () => (await kernelPods(id)) === 0, { timeoutMs: 60_000, description: 'the culled kernel pod to go' });
  });
});

describe('closing with a launch in progress', () => {
  it('cancels the launch (503 to its client) and removes its pod', async () => {
    const token = randomUUID();
    const gateway = await startGateway({
      port: 0,
      token,
      kernelspec_dirs: [kernelsDir],
      state_file: join(dir, 'closing-state.json'),
      orphan_namespaces: [ns],
      log_level: 'error',
      kubeConfig: cluster.kc,
      hostEnv: { GP_NAMESPACE: ns, PATH: process.env.PATH },
      responseListener: { ip: '127.0.0.1', port: 0 },
    });
    gateways.push(gateway);
    const pending = post(gateway.url, token, '/api/kernels', { name: 'k8s_silent', env: { KERNEL_USERNAME: 'gina' } });
    const pod = await cluster.waitFor(
      async () => (await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: 'kernel_id' })).items.find((p) => p.metadata?.name?.startsWith('gina-')),
      { timeoutMs: 60_000, description: 'the silent kernel pod to be created' },
    );
    const kernelId = pod.metadata!.labels!.kernel_id!;
    await gateway.close();
    const answer = await pending;
    expect(answer).toMatchObject({ status: 503, body: { code: 'GP_GATEWAY_SHUTTING_DOWN', details: { kernelId } } });
    await cluster.waitFor(async () => (await kernelPods(kernelId)) === 0, { timeoutMs: 60_000, description: 'the cancelled kernel pod to go' });
    // Its launch intent was recorded before the pod was created, and removed with the pod.
    expect(JSON.parse(readFileSync(join(dir, 'closing-state.json'), 'utf8')).kernels).toEqual({});
  });
});

describe('a kernelspec with interrupt_mode "message"', () => {
  it('is interrupted with an interrupt_request on the control channel', async () => {
    const token = randomUUID();
    const logLines: string[] = [];
    const gateway = await startGateway({
      port: 0,
      token,
      kernelspec_dirs: [kernelsDir],
      state_file: join(dir, 'message-state.json'),
      orphan_namespaces: [ns],
      // The log tells which way the interrupt went (a SIGINT through the comm port would interrupt too).
      logger: createLogger({ name: 'test', level: 'info', write: (line) => logLines.push(line) }),
      kubeConfig: cluster.kc,
      hostEnv: { GP_NAMESPACE: ns, PATH: process.env.PATH },
      responseListener: { ip: '127.0.0.1', port: 0 },
    });
    gateways.push(gateway);
    const started = await post(gateway.url, token, '/api/kernels', { name: 'k8s_message', env: { KERNEL_USERNAME: 'hana' } });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const id = started.body.id as string;
    const ws = new WebSocket(`${gateway.url.replace('http', 'ws')}/api/kernels/${id}/channels?token=${token}`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const msgId = randomUUID();
    let sleeping!: () => void;
    const asleep = new Promise<void>((r) => (sleeping = r));
    const reply = new Promise<any>((resolve) => {
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString());
        if (msg.parent_header?.msg_id !== msgId) return;
        if (msg.msg_type === 'stream' && String(msg.content.text).includes('sleeping')) sleeping();
        if (msg.msg_type === 'execute_reply') resolve(msg.content);
      });
    });
    ws.send(
      JSON.stringify({
        channel: 'shell',
        header: { msg_id: msgId, msg_type: 'execute_request', session: 's', username: 'hana', date: new Date().toISOString(), version: '5.3' },
        parent_header: {},
        metadata: {},
        content: { code: 'import time\nprint("sleeping", flush=True)\ntime.sleep(60)', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
      }),
    );
    await asleep;
    const interrupted = await fetch(`${gateway.url}/api/kernels/${id}/interrupt`, { method: 'POST', headers: { Authorization: `token ${token}` } });
    expect(interrupted.status).toBe(204);
    await expect(reply).resolves.toMatchObject({ status: 'error', ename: 'KeyboardInterrupt' });
    expect(logLines.filter((l) => l.includes('Kernel interrupted'))).toEqual([expect.stringContaining('Kernel interrupted (interrupt_request).')]);
    ws.close();
    await gateway.close({ stopKernels: true });
    expect(await kernelPods(id)).toBe(0);
  });
});
