/**
 * Threat model — "nothing lost in an outage" (README.md here, section O). Faults of the Kubernetes API server and of the
 * gateway process itself, reproduced for real: this file starts its OWN control plane (not the shared one of
 * the k8s project, whose API server other files need) and stops / restarts its kube-apiserver, and SIGKILLs a
 * real `gp-gateway` process in the middle of a launch. Kernels are real ipykernel pods on the process node.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@gp/core';
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { repoRoot, startCluster, testPythonBin, waitFor, type TestCluster } from '@gp/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type GatewayHandle } from '../gateway.js';
import type { GatewayOptions } from '../options.js';

const GP_IMAGE = 'gp-test/outage-py:1';
/** A "kernel" that starts but never reports its connection information: its launch stays in flight. */
const SILENT_IMAGE = 'gp-test/outage-silent:1';
const TEST_TIMEOUT = 300_000;

let cluster: TestCluster;
const dir = mkdtempSync(join(tmpdir(), 'gp-gateway-outage-'));
const kernelsDir = join(dir, 'prefix', 'share', 'jupyter', 'kernels');
const token = randomUUID();
let ns: string;
let sweepNs: string;
const gateways: GatewayHandle[] = [];
const processes: ChildProcess[] = [];

/** JSON log lines of the gateways this file starts in-process. */
const logLines: Array<Record<string, unknown>> = [];
const logger = createLogger({ name: 'GatewayApp', level: 'debug', format: 'json', write: (line) => logLines.push(JSON.parse(line) as Record<string, unknown>) });
const logged = (msg: RegExp): Array<Record<string, unknown>> => logLines.filter((l) => msg.test(String(l.msg)));

function options(stateFile: string, extra: Partial<GatewayOptions> = {}): GatewayOptions {
  return {
    ip: '127.0.0.1',
    port: 0,
    token,
    kernelspec_dirs: [kernelsDir],
    state_file: stateFile,
    orphan_namespaces: [ns],
    kube_api_check_interval: 1,
    kubeConfig: cluster.kc,
    hostEnv: { GP_NAMESPACE: ns, PATH: process.env.PATH },
    responseListener: { ip: '127.0.0.1', port: 0 },
    logger,
    ...extra,
  };
}

async function open(stateFile: string, extra: Partial<GatewayOptions> = {}): Promise<GatewayHandle> {
  const g = await startGateway(options(stateFile, extra));
  gateways.push(g);
  return g;
}

async function api(base: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, { ...init, headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function launch(base: string, username: string, name = 'k8s_python'): Promise<string> {
  const res = await api(base, '/api/kernels', { method: 'POST', body: JSON.stringify({ name, env: { KERNEL_USERNAME: username } }) });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

function recorded(stateFile: string): Record<string, { launching?: unknown }> {
  return existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, 'utf8')).kernels : {};
}

async function kernelPods(kernelId?: string): Promise<string[]> {
  const list = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: kernelId ? `kernel_id=${kernelId}` : 'kernel_id' });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!);
}

/** Runs `code` over the gateway's WebSocket (Jupyter's JSON protocol); resolves with the text/plain result. */
async function execute(base: string, kernelId: string, code: string): Promise<string> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/api/kernels/${kernelId}/channels?token=${token}`);
  try {
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const msgId = randomUUID();
    const result = new Promise<string>((resolve, reject) => {
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString());
        if (msg.parent_header?.msg_id !== msgId) return;
        if (msg.msg_type === 'execute_result') resolve(msg.content.data['text/plain']);
        if (msg.msg_type === 'error') reject(new Error(`${msg.content.ename}: ${msg.content.evalue}`));
      });
    });
    ws.send(
      JSON.stringify({
        channel: 'shell',
        header: { msg_id: msgId, msg_type: 'execute_request', session: 's', username: 'u', date: new Date().toISOString(), version: '5.3' },
        parent_header: {},
        metadata: {},
        content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
      }),
    );
    return await result;
  } finally {
    ws.close();
  }
}

beforeAll(async () => {
  cluster = await startCluster({ installSparkCrd: false });
  cluster.registerImage(GP_IMAGE, {
    command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
    env: { PATH: `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`, PYTHONDONTWRITEBYTECODE: '1' },
  });
  cluster.registerImage(SILENT_IMAGE, { command: ['sleep', '3600'] });
  execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', join(dir, 'prefix'), '--image-name', GP_IMAGE], { stdio: 'pipe' });
  cpSync(join(kernelsDir, 'k8s_python'), join(kernelsDir, 'k8s_silent'), { recursive: true });
  const silent = JSON.parse(readFileSync(join(kernelsDir, 'k8s_silent', 'kernel.json'), 'utf8'));
  silent.metadata.kernel_provisioner.config.image_name = SILENT_IMAGE;
  silent.metadata.kernel_provisioner.config.launch_timeout = 600;
  writeFileSync(join(kernelsDir, 'k8s_silent', 'kernel.json'), JSON.stringify(silent));
  ns = await cluster.createNamespace('outage');
  // Made now: after an API server restart the controllers' watches resume with client-go's backoff (up to
  // about a minute), so a namespace's default service account can lag.
  sweepNs = await cluster.createNamespace('sweep');
}, TEST_TIMEOUT);

afterAll(async () => {
  for (const p of processes) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  if (cluster && !cluster.apiServerRunning) await cluster.startApiServer().catch(() => undefined);
  for (const g of gateways) await g.close({ stopKernels: true }).catch(() => undefined);
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
}, TEST_TIMEOUT);

// A failed test must not leave the API server down for the next one.
afterEach(async () => {
  if (!cluster.apiServerRunning) await cluster.startApiServer();
}, TEST_TIMEOUT);

describe('the Kubernetes API server goes away', () => {
  const stateFile = join(dir, 'outage-state.json');
  let gateway: GatewayHandle;
  let first: string;
  let second: string;

  it('a gateway restarted while the API server is down keeps every record, says so, and re-attaches when it is back', async () => {
    const before = await open(stateFile);
    first = await launch(before.url, 'alice');
    second = await launch(before.url, 'bob');
    expect(await execute(before.url, first, 'x = 41; x')).toBe('41');
    await before.close({ stopKernels: false });
    expect(Object.keys(recorded(stateFile)).sort()).toEqual([first, second].sort());

    await cluster.stopApiServer();
    gateway = await open(stateFile);
    // Nothing taken for dead: both records kept, to be retried.
    expect(gateway.reattached).toMatchObject({ attached: [], removed: [] });
    expect(gateway.reattached.pending.sort()).toEqual([first, second].sort());
    expect(gateway.kubernetesApi.status()).toMatchObject({ reachable: false, outages: 1 });
    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(503);
    expect(await api(gateway.url, `/api/kernels/${first}`)).toMatchObject({ status: 503, body: { message: expect.stringMatching(/not re-attached yet/) } });
    const listed = await api(gateway.url, '/api/kernels');
    expect(listed.body.map((k: { id: string; execution_state: string }) => [k.id, k.execution_state]).sort()).toEqual(
      [[first, 'unknown'], [second, 'unknown']].sort(),
    );
    const refused = await api(gateway.url, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: 'carol' } }) });
    expect(refused).toMatchObject({ status: 503, body: { code: 'GP_KUBERNETES_UNREACHABLE' } });
    // Time passes with the API down (the health check keeps failing): still nothing forgotten.
    await waitFor(() => gateway.kubernetesApi.status().failedChecks >= 3, { timeoutMs: 60_000, description: 'three failed API checks' });
    expect(Object.keys(recorded(stateFile)).sort()).toEqual([first, second].sort());
    expect(logged(/recorded kernels are kept and re-attached once it answers/)[0]?.kernel_ids).toEqual(expect.arrayContaining([first, second]));

    await cluster.startApiServer();
    await waitFor(async () => (await api(gateway.url, `/api/kernels/${first}`)).status === 200 && (await api(gateway.url, `/api/kernels/${second}`)).status === 200, {
      timeoutMs: 120_000,
      description: 'both kernels re-attached',
    });
    await waitFor(async () => (await fetch(`${gateway.url}/readyz`)).status === 200, { timeoutMs: 60_000, description: '/readyz 200' });
    // The re-attached kernel is the same interpreter.
    expect(await execute(gateway.url, first, 'x + 1')).toBe('42');
    expect(await kernelPods(first)).toHaveLength(1);
    // One line per transition, not one per failed request.
    expect(logged(/API server is unreachable: launches/)).toHaveLength(1);
    expect(logged(/API server is reachable again/)).toHaveLength(1);
    expect(logged(/API server is unreachable: launches/)[0]).toMatchObject({ level: 'error', server: cluster.apiServerUrl });
  }, TEST_TIMEOUT);

  it('only "gone" is gone: a re-attach refused for another reason (403) keeps the record and succeeds once allowed', async () => {
    await gateway.close({ stopKernels: false });
    // An identity the API answers (its /readyz: the API is up) but may not read pods: every GET is a 403.
    const user = `gp-outage-${randomUUID().slice(0, 8)}`;
    const denied = await open(stateFile, { kubeConfig: cluster.kubeConfigFor({ user }) });
    expect(denied.kubernetesApi.reachable).toBe(true);
    expect(denied.reattached).toMatchObject({ attached: [], removed: [] });
    expect(denied.reattached.pending.sort()).toEqual([first, second].sort());
    expect(Object.keys(recorded(stateFile)).sort()).toEqual([first, second].sort());
    expect((await api(denied.url, `/api/kernels/${first}`)).status).toBe(503);
    await cluster.kc.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: user },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
      },
    });
    // The retries (with backoff) re-attach both once the identity may read them.
    await waitFor(async () => (await api(denied.url, `/api/kernels/${first}`)).status === 200 && (await api(denied.url, `/api/kernels/${second}`)).status === 200, {
      timeoutMs: 120_000,
      description: 'both kernels re-attached after the RoleBinding',
    });
    expect(await execute(denied.url, first, 'x + 1')).toBe('42');
    await denied.close({ stopKernels: false });
    gateway = await open(stateFile);
    expect(gateway.reattached.attached.sort()).toEqual([first, second].sort());
  }, TEST_TIMEOUT);

  it('restart and DELETE while the API server is down keep the kernel and its record; the DELETE retried once it is back removes the pod', async () => {
    await cluster.stopApiServer();
    // A restart would delete the pod it cannot recreate: refused, the kernel untouched.
    const restart = await api(gateway.url, `/api/kernels/${second}/restart`, { method: 'POST', body: '{}' });
    expect(restart).toMatchObject({ status: 503, body: { code: 'GP_KUBERNETES_UNREACHABLE' } });
    const failed = await api(gateway.url, `/api/kernels/${second}`, { method: 'DELETE' });
    expect(failed).toMatchObject({ status: 503, body: { code: 'GP_KUBERNETES_UNREACHABLE', message: expect.stringMatching(/kept/) } });
    expect(Object.keys(recorded(stateFile))).toContain(second);
    expect((await api(gateway.url, `/api/kernels/${second}`)).status).toBe(200);
    await waitFor(async () => (await fetch(`${gateway.url}/readyz`)).status === 503, { timeoutMs: 60_000, description: '/readyz 503' });

    await cluster.startApiServer();
    const retried = await api(gateway.url, `/api/kernels/${second}`, { method: 'DELETE' });
    expect(retried.status, JSON.stringify(retried.body)).toBe(204);
    expect(await kernelPods(second)).toEqual([]);
    expect(Object.keys(recorded(stateFile))).not.toContain(second);
    // The other kernel lived through the second outage.
    expect(await execute(gateway.url, first, 'x + 2')).toBe('43');
    // This gateway saw one outage (the first was its predecessor's): one line each.
    expect(logged(/API server is unreachable: launches/)).toHaveLength(2);
    expect(gateway.kubernetesApi.status()).toMatchObject({ reachable: true, outages: 1 });
    expect((await api(gateway.url, `/api/kernels/${first}`, { method: 'DELETE' })).status).toBe(204);
    expect(recorded(stateFile)).toEqual({});
  }, TEST_TIMEOUT);
});

describe('a kernel ends while its pod cannot be deleted', () => {
  it('the leftovers stay recorded until they are deleted (403 on the delete, then allowed)', async () => {
    const stateFile = join(dir, 'leftover-state.json');
    const admin = await open(stateFile);
    const id = await launch(admin.url, 'frank');
    await admin.close({ stopKernels: false });
    // An identity that may read pods and events (re-attach, watch) but not delete them.
    const user = `gp-viewer-${randomUUID().slice(0, 8)}`;
    const bind = (role: string) =>
      cluster.kc.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: `${user}-${role}` },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
        },
      });
    await bind('view');
    const viewer = await open(stateFile, { kubeConfig: cluster.kubeConfigFor({ user }) });
    expect(viewer.reattached.attached).toEqual([id]);
    // The kernel process exits: its pod ends (restartPolicy Never) and stays until someone deletes it.
    const ws = new WebSocket(`${viewer.url.replace('http', 'ws')}/api/kernels/${id}/channels?token=${token}`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(
      JSON.stringify({
        channel: 'shell',
        header: { msg_id: randomUUID(), msg_type: 'execute_request', session: 's', username: 'u', date: new Date().toISOString(), version: '5.3' },
        parent_header: {},
        metadata: {},
        content: { code: 'import os; os._exit(0)', silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true },
      }),
    );
    await waitFor(() => recorded(stateFile)[id]?.launching, { timeoutMs: 60_000, description: "the dead kernel's leftovers to be recorded" });
    ws.close();
    expect((await api(viewer.url, `/api/kernels/${id}`)).status).toBe(404);
    expect((await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `kernel_id=${id}` })).items).toHaveLength(1);
    await bind('admin');
    await waitFor(async () => (await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `kernel_id=${id}` })).items.length === 0, {
      timeoutMs: 120_000,
      description: 'the retried deletion to remove the ended pod',
    });
    await waitFor(() => Object.keys(recorded(stateFile)).length === 0, { timeoutMs: 60_000, description: 'the record to go' });
  }, TEST_TIMEOUT);
});

describe('the gateway dies mid-launch', () => {
  it('a gp-gateway SIGKILLed during a launch removes what that launch created at its next start', async () => {
    const stateFile = join(dir, 'sigkill-state.json');
    const run = (): { proc: ChildProcess; url: Promise<string>; output: () => string } => {
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
          GP_GATEWAY_TOKEN: token,
          GP_GATEWAY_KERNELSPEC_DIRS: kernelsDir,
          GP_GATEWAY_STATE_FILE: stateFile,
          GP_GATEWAY_LOG_FORMAT: 'json',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      processes.push(proc);
      let out = '';
      proc.stdout!.on('data', (d) => (out += d));
      proc.stderr!.on('data', (d) => (out += d));
      const url = waitFor(() => /^(http:\/\/\S+)$/m.exec(out)?.[1], { timeoutMs: 60_000, description: 'the gateway URL on stdout' });
      return { proc, url, output: () => out };
    };

    const doomed = run();
    const url = await doomed.url;
    // The launch stays in flight: the silent kernel never reports its connection information.
    const inFlight = fetch(`${url}/api/kernels`, { method: 'POST', headers: { Authorization: `token ${token}` }, body: JSON.stringify({ name: 'k8s_silent', env: { KERNEL_USERNAME: 'dave' } }) }).catch(
      (e: unknown) => e,
    );
    const pod = await waitFor(async () => (await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: 'kernel_id' })).items.find((p) => p.metadata?.name?.startsWith('dave-')), {
      timeoutMs: 60_000,
      description: 'the launch to create its pod',
    });
    const kernelId = pod.metadata!.labels!.kernel_id!;
    expect(recorded(stateFile)[kernelId]?.launching).toBeDefined();
    const exited = new Promise((resolve) => doomed.proc.once('exit', resolve));
    doomed.proc.kill('SIGKILL');
    await exited;
    await inFlight;
    expect(await kernelPods(kernelId)).toHaveLength(1);

    // The next gateway (default orphan_policy `report`: the record, not the sweep, does this).
    const next = run();
    await next.url;
    await waitFor(async () => (await kernelPods(kernelId)).length === 0, { timeoutMs: 120_000, description: `the unfinished launch's pod to go (log: ${next.output().slice(-2000)})` });
    expect(recorded(stateFile)).toEqual({});
    expect((await api(await next.url, `/api/kernels/${kernelId}`)).status).toBe(404);
    const stopped = new Promise((resolve) => next.proc.once('exit', resolve));
    next.proc.kill('SIGTERM');
    expect(await stopped).toBe(0);
  }, TEST_TIMEOUT);

  it('orphans are swept periodically, never a launch in flight', async () => {
    // A namespace of its own (made before any outage): a sweeper with another state file takes every other
    // gateway's kernels for orphans.
    const sweeper = await open(join(dir, 'sweep-state.json'), {
      orphan_policy: 'delete',
      orphan_sweep_interval: 1,
      orphan_namespaces: [sweepNs],
      hostEnv: { GP_NAMESPACE: sweepNs, PATH: process.env.PATH },
    });
    const pods = async (kernelId?: string): Promise<string[]> =>
      (await cluster.core.listNamespacedPod({ namespace: sweepNs, labelSelector: kernelId ? `kernel_id=${kernelId}` : 'kernel_id' })).items
        .filter((p) => !p.metadata?.deletionTimestamp)
        .map((p) => p.metadata!.name!);
    expect(sweeper.orphans).toEqual([]);
    const inFlight = api(sweeper.url, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_silent', env: { KERNEL_USERNAME: 'erin' } }) });
    const launching = await waitFor(async () => (await cluster.core.listNamespacedPod({ namespace: sweepNs, labelSelector: 'kernel_id' })).items.find((p) => p.metadata?.name?.startsWith('erin-')), {
      timeoutMs: 60_000,
      description: 'the in-flight launch to create its pod',
    });
    // An orphan appears after start-up: only a later sweep can find it.
    const orphanId = randomUUID();
    await cluster.core.createNamespacedPod({
      namespace: sweepNs,
      body: {
        metadata: { name: `orphan-${orphanId}`, labels: { kernel_id: orphanId, component: 'kernel' } },
        spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] },
      },
    });
    await waitFor(async () => (await pods(orphanId)).length === 0, { timeoutMs: 60_000, description: 'a periodic sweep to delete the orphan' });
    expect(logged(/Deleting an orphaned kernel pod/).some((l) => l.kernel_id === orphanId)).toBe(true);
    // Sweeps ran meanwhile; the launch in flight was never taken for an orphan.
    expect(logged(/orphan/i).some((l) => l.kernel_id === launching.metadata!.labels!.kernel_id)).toBe(false);
    expect(await pods(launching.metadata!.labels!.kernel_id)).toHaveLength(1);
    await sweeper.close({ stopKernels: true });
    expect((await inFlight).status).toBe(503);
    await waitFor(async () => (await pods()).length === 0, { timeoutMs: 60_000, description: 'no kernel pods left' });
  }, TEST_TIMEOUT);
  it('a launch whose rollback fails (the API server went down) keeps its intent; the next gateway removes the pod', async () => {
    const stateFile = join(dir, 'rollback-state.json');
    const gateway = await open(stateFile);
    const inFlight = api(gateway.url, '/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_silent', env: { KERNEL_USERNAME: 'gina' } }) });
    const pod = await waitFor(async () => (await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: 'kernel_id' })).items.find((p) => p.metadata?.name?.startsWith('gina-')), {
      timeoutMs: 60_000,
      description: 'the launch to create its pod',
    });
    const kernelId = pod.metadata!.labels!.kernel_id!;
    await cluster.stopApiServer();
    // Closing cancels the launch; deleting its pod fails with the API down: the intent stays recorded.
    await gateway.close();
    expect((await inFlight).status).toBe(503);
    expect(recorded(stateFile)[kernelId]?.launching).toBeDefined();
    await cluster.startApiServer();
    expect(await kernelPods(kernelId)).toHaveLength(1);
    const next = await open(stateFile);
    expect(next.reattached.removed).toEqual([kernelId]);
    await waitFor(async () => (await kernelPods(kernelId)).length === 0, { timeoutMs: 60_000, description: "the cancelled launch's pod to go" });
    expect(recorded(stateFile)).toEqual({});
  }, TEST_TIMEOUT);
});
