/**
 * A Scala kernel (Apache Toree, gp's launcher) through gp-gateway with Jupyter Server (--gateway-url): the
 * `k8s_scala` kernelspec of the built `k8s-spec`, an image root made by `k8s-spec image-bootstrap install
 * --languages scala` on the process node, and the Toree toolchain of scripts/toree-env.sh. Runs Scala and Spark,
 * interrupts `Thread.sleep(60000)`, restarts to a fresh interpreter, deletes the kernel and leaves no pod.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, repoRoot, testPythonBin, useCluster } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type GatewayHandle } from '../gateway.js';
import { DEFAULT_ALLOWED_ENV } from '../options.js';
import { TestJupyterServer } from './jupyter-server.js';

const IMAGE = 'gp-test/gateway-kernel-scala:1';
const cluster = useCluster();
const dir = mkdtempSync(join(tmpdir(), 'gp-gateway-scala-'));
const kernelsDir = join(dir, 'prefix', 'share', 'jupyter', 'kernels');
const token = randomUUID();
let ns: string;
let gateway: GatewayHandle;
let server: TestJupyterServer;

function toreeVenvSite(): { sparkHome: string; assembly: string } {
  const venv = process.env.GP_TOREE_VENV ?? join(repoRoot, '.venv-toree');
  const python = existsSync(join(venv, 'lib')) ? readdirSync(join(venv, 'lib')).find((d) => d.startsWith('python3')) : undefined;
  const site = join(venv, 'lib', python ?? 'python3', 'site-packages');
  const lib = join(site, 'toree', 'lib');
  const jar = existsSync(lib) ? readdirSync(lib).find((f) => f.startsWith('toree-assembly-')) : undefined;
  if (!python || !jar) throw new Error(`The Scala kernel toolchain is missing from ${venv}: run 'bash scripts/toree-env.sh' (scripts/test.sh does).`);
  return { sparkHome: join(site, 'pyspark'), assembly: join(lib, jar) };
}

/** Runs a cell through Jupyter Server's kernel WebSocket; `onStream` sees stdout as it arrives. */
async function run(kernelId: string, code: string, onStream?: (text: string) => void): Promise<{ status: string; result?: string; ename?: string }> {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/kernels/${kernelId}/channels?token=${server.token}&session_id=${randomUUID()}`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const msgId = randomUUID();
  const out: { status: string; result?: string; ename?: string } = { status: 'unknown' };
  try {
    return await new Promise((resolve, reject) => {
      let replied = false;
      let idle = false;
      ws.on('close', () => reject(new Error('the WebSocket closed before the execution finished')));
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString());
        if (msg.parent_header?.msg_id !== msgId) return;
        const type = msg.header.msg_type;
        if (msg.channel === 'shell' && type === 'execute_reply') {
          out.status = msg.content.status;
          if (msg.content.ename) out.ename = msg.content.ename;
          replied = true;
        } else if (type === 'execute_result') out.result = msg.content.data['text/plain'];
        else if (type === 'error') out.ename = msg.content.ename;
        else if (type === 'stream') onStream?.(msg.content.text);
        else if (type === 'status' && msg.content.execution_state === 'idle') idle = true;
        if (replied && idle) resolve(out);
      });
      const header = { msg_id: msgId, msg_type: 'execute_request', session: 'scala-test', username: 'alice', date: new Date().toISOString(), version: '5.3' };
      ws.send(JSON.stringify({ channel: 'shell', header, parent_header: {}, metadata: {}, content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true }, buffers: [] }));
    });
  } finally {
    ws.close();
  }
}

let valueCounter = 0;

/** `code`'s value: read back with `gpvN` when Toree published idle before the execute_result (at most 3 times). */
async function value(kernelId: string, code: string): Promise<{ status: string; result?: string; ename?: string }> {
  const name = `gpv${valueCounter++}`;
  let out = await run(kernelId, `val ${name} = { ${code} }`);
  for (let i = 0; i < 3 && out.status === 'ok' && out.result === undefined; i++) out = await run(kernelId, name);
  return out;
}

async function kernelPods(kernelId: string): Promise<string[]> {
  const list = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `kernel_id=${kernelId}` });
  return list.items.map((p) => p.metadata!.name!);
}

beforeAll(async () => {
  const toree = toreeVenvSite();
  const path = `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  const k8sSpec = join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js');
  const imageRoot = join(dir, 'image', 'usr', 'local', 'bin');
  execFileSync(process.execPath, [k8sSpec, 'image-bootstrap', 'install', '--prefix', imageRoot, '--languages', 'scala'], { stdio: 'pipe' });
  cluster.registerImage(IMAGE, {
    command: ['bash', join(imageRoot, 'bootstrap-kernel.sh')],
    env: { PATH: path, PYTHONDONTWRITEBYTECODE: '1', SPARK_HOME: toree.sparkHome, GP_TOREE_ASSEMBLY: toree.assembly },
  });
  execFileSync(process.execPath, [k8sSpec, 'install', '--prefix', join(dir, 'prefix'), '--language', 'Scala', '--image-name', IMAGE], { stdio: 'pipe' });
  ns = await cluster.createNamespace('gwscala');
  const [gatewayPort, serverPort] = await freePorts(2);
  gateway = await startGateway({
    ip: '127.0.0.1',
    port: gatewayPort!,
    token,
    kernelspec_dirs: [kernelsDir],
    state_file: join(dir, 'state', 'kernels.json'),
    allowed_env: DEFAULT_ALLOWED_ENV,
    orphan_namespaces: [ns],
    log_level: 'warn',
    kubeConfig: cluster.kc,
    hostEnv: { GP_NAMESPACE: ns, PATH: process.env.PATH },
    responseListener: { ip: '127.0.0.1', port: 0 },
  });
  server = new TestJupyterServer({ port: serverPort!, gatewayUrl: `http://127.0.0.1:${gatewayPort}`, gatewayToken: token, dir: join(dir, 'jupyter'), kernelEnv: { KERNEL_USERNAME: 'alice' } });
  await server.ready();
}, 300_000);

afterAll(async () => {
  await server?.stop();
  await gateway?.close({ stopKernels: true }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('Jupyter Server with --gateway-url runs a k8s_scala (Apache Toree) kernel through gp-gateway', () => {
  it('runs Scala and Spark, interrupts a sleeping cell, restarts fresh, deletes, and leaves no pod', async () => {
    const created = await server.request('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_scala' }) });
    expect(created.status).toBe(201);
    const kernelId = created.body.id as string;
    await expect(run(kernelId, 'val x = 6 * 7')).resolves.toMatchObject({ status: 'ok' });
    await expect(value(kernelId, 'x')).resolves.toMatchObject({ status: 'ok', result: expect.stringContaining('42') });
    await expect(value(kernelId, 'sc.parallelize(1 to 1000).sum')).resolves.toMatchObject({ status: 'ok', result: expect.stringContaining('500500') });

    let sleeping!: () => void;
    const started = new Promise<void>((resolve) => (sleeping = resolve));
    const cell = run(kernelId, 'println("sleeping"); Thread.sleep(60000); "finished"', (text) => text.includes('sleeping') && sleeping());
    await Promise.race([started, cell]);
    expect((await server.request(`/api/kernels/${kernelId}/interrupt`, { method: 'POST' })).status).toBe(204);
    const interrupted = await cell;
    expect(interrupted.status).toBe('error');
    expect(interrupted.ename).toContain('InterruptedException');
    await expect(value(kernelId, 'x + 1')).resolves.toMatchObject({ status: 'ok', result: expect.stringContaining('43') });

    expect((await server.request(`/api/kernels/${kernelId}/restart`, { method: 'POST' })).status).toBe(200);
    expect((await run(kernelId, 'x')).status).toBe('error'); // a fresh interpreter
    await expect(value(kernelId, '6 * 7')).resolves.toMatchObject({ status: 'ok', result: expect.stringContaining('42') });

    expect((await server.request(`/api/kernels/${kernelId}`, { method: 'DELETE' })).status).toBe(204);
    await cluster.waitFor(async () => (await kernelPods(kernelId)).length === 0, { timeoutMs: 60_000, description: `kernel ${kernelId}'s pod to go` });
  }, 600_000);
});
