/**
 * The image's contents without a container engine: the gateway and the k8s-spec CLI installed as the
 * Dockerfile's build stage installs them (`pnpm deploy --prod`), the kernelspecs made by the Dockerfile's own
 * `k8s-spec install` lines, and the gateway started as its ENTRYPOINT with the Dockerfile's ENV and the
 * ConfigMap's settings, against the testkit cluster. Its health endpoints answer (the Dockerfile's
 * HEALTHCHECK command included), it serves the three kernelspecs behind the token, logs JSON without the
 * token, launches a kernel from the image's kernelspec, and stops cleanly on SIGTERM.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, repoRoot as testkitRepoRoot, testPythonBin, useCluster } from '@gp/testkit';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deployCommand, readDockerfile, repoRoot, runtimeEnv, specInstallArgv } from './dockerfile.js';
import { createKubeClient } from '@gp/launcher';
import { GATEWAY_ENV, gatewayManifests } from './manifests.js';

const cluster = useCluster();
const dockerfile = readDockerfile();
const work = mkdtempSync(join(tmpdir(), 'gp-gateway-image-'));
const token = randomUUID();
let ns: string;
let gateway: ChildProcess | undefined;
let url = '';
/** stderr: the logs. */
let logs = '';
/** stdout: the URL the bin prints once it serves. */
let stdout = '';
let env: Record<string, string> = {};

/** Where the Dockerfile puts things, mapped into the work dir. */
const image = {
  gateway: join(work, 'opt', 'gp-gateway'),
  k8sSpec: join(work, 'opt', 'k8s-spec'),
  kernels: join(work, 'usr-local', 'share', 'jupyter', 'kernels'),
};

/** The workspace packages in the image. */
const IMAGE_PACKAGES = ['packages/core', 'packages/templates', 'packages/rbac', 'packages/launcher', 'packages/spec-cli', 'apps/gateway'];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

function isStale(pkg: string): boolean {
  const built = join(repoRoot, pkg, 'dist', 'index.js');
  return !existsSync(built) || statSync(built).mtimeMs < newestMtime(join(repoRoot, pkg, 'src'));
}

function entrypoint(): string[] {
  const argv = JSON.parse(dockerfile.runtime.find((i) => i.keyword === 'ENTRYPOINT')!.args) as string[];
  return argv.map((a) => a.replace('/opt/gp-gateway', image.gateway));
}

async function api(path: string, init: RequestInit = {}, auth = true): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, { ...init, headers: { 'Content-Type': 'application/json', ...(auth ? { Authorization: `token ${token}` } : {}) } });
  const text = await res.text();
  try {
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  } catch {
    return { status: res.status, body: text };
  }
}

beforeAll(async () => {
  // Build what the image's build stage builds when a package's dist is missing or older than its sources (as
  // the Dockerfile does, without @gp/testkit), then deploy it as the Dockerfile does.
  if (IMAGE_PACKAGES.some(isStale)) {
    execFileSync('pnpm', ['--filter', '@gp/gateway...', '--filter', '@gp/spec-cli...', '--filter', '!@gp/testkit', 'run', 'build'], { cwd: repoRoot, stdio: 'pipe' });
  }
  execFileSync('pnpm', deployCommand(dockerfile, '@gp/gateway', image.gateway), { cwd: repoRoot, stdio: 'pipe' });
  execFileSync('pnpm', deployCommand(dockerfile, '@gp/spec-cli', image.k8sSpec), { cwd: repoRoot, stdio: 'pipe' });
  for (const argv of specInstallArgv(dockerfile)) {
    execFileSync(process.execPath, [join(image.k8sSpec, 'dist', 'bin', 'k8s-spec.js'), ...argv, '--prefix', join(work, 'usr-local')], { stdio: 'pipe' });
  }
  // The image's Python kernel image stands for gp's bootstrap with the venv's ipykernel on the process node.
  cluster.registerImage(dockerfile.argDefaults.get('KERNEL_PYTHON_IMAGE')!, {
    command: ['bash', join(testkitRepoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
    env: { PATH: `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`, PYTHONDONTWRITEBYTECODE: '1' },
  });

  ns = await cluster.createNamespace('gw-image');
  const [port, responsePort] = await freePorts(2);
  const configMap = gatewayManifests({ namespace: ns, createNamespace: false }).find((o) => o.kind === 'ConfigMap') as V1ConfigMap;
  env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: work,
    ...runtimeEnv(dockerfile),
    ...configMap.data,
    // What the Deployment adds (pod IP, namespace, the token Secret) and what differs on a shared test machine.
    GP_NAMESPACE: ns,
    GP_RESPONSE_IP: '127.0.0.1',
    [GATEWAY_ENV.token]: token,
    [GATEWAY_ENV.port]: String(port),
    GP_RESPONSE_PORT: String(responsePort),
    [GATEWAY_ENV.stateFile]: join(work, 'state', 'kernels.json'),
    // The image's system kernels directory is /usr/local/share/jupyter/kernels; here the same layout in the work dir.
    GP_GATEWAY_KERNELSPEC_DIRS: image.kernels,
    KUBECONFIG: cluster.kubeconfigPath,
  };
  const [command, ...args] = entrypoint();
  gateway = spawn(command === 'node' ? process.execPath : command!, args, { env, cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  gateway.stdout!.on('data', (d) => (stdout += d));
  gateway.stderr!.on('data', (d) => (logs += d));
  url = `http://127.0.0.1:${port}`;
  await cluster.waitFor(
    async () => {
      if (gateway!.exitCode !== null) throw new Error(`the gateway exited (${gateway!.exitCode}): ${logs.slice(-2000)}`);
      try {
        return (await fetch(`${url}/readyz`)).ok;
      } catch {
        return false;
      }
    },
    { timeoutMs: 60_000, description: 'the deployed gateway to be ready' },
  );
}, 300_000);

afterAll(async () => {
  if (gateway && gateway.exitCode === null && gateway.signalCode === null) gateway.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

it('answers the probes, including the Dockerfile HEALTHCHECK command as written', async () => {
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  expect((await fetch(`${url}/readyz`)).status).toBe(200);
  const healthcheck = JSON.parse(dockerfile.runtime.find((i) => i.keyword === 'HEALTHCHECK')!.args.replace(/^.*?CMD\s+/, '')) as string[];
  expect(healthcheck[0]).toBe('node');
  const run = spawnSync(process.execPath, healthcheck.slice(1), { env, timeout: 10_000 });
  expect(run.status, String(run.stderr)).toBe(0);
  // And it can fail: pointed at a port where nothing listens, it exits non-zero.
  const [closed] = await freePorts(1);
  expect(spawnSync(process.execPath, healthcheck.slice(1), { env: { ...env, [GATEWAY_ENV.port]: String(closed) }, timeout: 10_000 }).status).toBe(1);
});

it('serves the kernelspecs the Dockerfile installs, behind the token', async () => {
  expect((await api('/api/kernelspecs', {}, false)).status).toBe(403);
  const { status, body } = await api('/api/kernelspecs');
  expect(status).toBe(200);
  expect(Object.keys(body.kernelspecs).sort()).toEqual(['k8s_python', 'k8s_python_spark_operator', 'k8s_r']);
  expect(body.kernelspecs.k8s_python.spec.metadata.kernel_provisioner.config.image_name).toBe(dockerfile.argDefaults.get('KERNEL_PYTHON_IMAGE'));
});

it('launches a kernel pod from the image\'s kernelspec and shuts it down', async () => {
  const started = await api('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: 'alice' } }) });
  expect(started.status, JSON.stringify(started.body) + logs.slice(-2000)).toBe(201);
  const pods = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `kernel_id=${started.body.id}` });
  expect(pods.items.map((p) => p.metadata!.name)).toEqual([`alice-${started.body.id}`]);
  expect((await api(`/api/kernels/${started.body.id}`, { method: 'DELETE' })).status).toBe(204);
  await cluster.waitFor(async () => (await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: 'kernel_id' })).items.length === 0, {
    timeoutMs: 60_000,
    description: 'the kernel pod to be deleted',
  });
});

it('logs JSON lines on stderr (the ConfigMap asks for them) that never contain the token; stdout has the URL', () => {
  expect(stdout.trim()).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
  const lines = logs.split('\n').filter((l) => l.trim() !== '');
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
  expect(logs).not.toContain(token);
});

it('stops on SIGTERM (the pod\'s termination) with exit code 0, giving back its replica lease (the kernel records are Secrets: no state file)', async () => {
  const leases = async (): Promise<string[]> =>
    (await createKubeClient(cluster.kc).request<{ items: Array<{ metadata: { name: string } }> }>({ method: 'GET', path: `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`, query: { labelSelector: 'gp.jupyter.org/gateway-replica' } })).items.map((l) => l.metadata.name);
  expect(await leases()).toHaveLength(1);
  const exited = new Promise<number | null>((resolve) => gateway!.once('exit', (code) => resolve(code)));
  gateway!.kill('SIGTERM');
  await expect(exited).resolves.toBe(0);
  expect(await leases()).toEqual([]);
  expect(existsSync(join(work, 'state'))).toBe(false);
});
