/**
 * Warm pools on the real test control plane, with real ipykernel through gp's launcher (bootstrap-kernel.sh):
 * a claimed pooled kernel executes, is interrupted, restarts (cold, under its own name) and shuts down with
 * nothing left; requests of another profile launch cold; a burst larger than the pool falls back to cold
 * launches; the pool refills; a claim with the wrong token is refused and leaves the pod waiting.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResponseListener } from '@gp/core';
import { JupyterKernelClient, repoRoot, testPythonBin, useCluster } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelSpecLike } from '../provisioner/kernelspec.js';
import { KubernetesProvisioner } from '../provisioner/provisioner.js';
import { probeClaimPort, sendClaim } from './claim.js';
import { KernelPool, POOL_LABEL } from './pool.js';

const IMAGE = 'gp-test/pool-kernel-py:1';
const cluster = useCluster();
const dir = mkdtempSync(join(tmpdir(), 'gp-pool-'));
let spec: KernelSpecLike;
let listener: ResponseListener;
let ns: string;
let pool: KernelPool;
let refill = true;
const clients: JupyterKernelClient[] = [];
const provisioners: KubernetesProvisioner[] = [];

function provisioner(env: Record<string, string> = { KERNEL_USERNAME: 'alice' }): { prov: KubernetesProvisioner; env: Record<string, string> } {
  const prov = new KubernetesProvisioner({ kernelId: randomUUID(), kernelSpec: spec, kubeConfig: cluster.kc, responseListener: listener, hostEnv: { GP_NAMESPACE: ns }, pool });
  provisioners.push(prov);
  return { prov, env };
}

async function start(env?: Record<string, string>): Promise<{ prov: KubernetesProvisioner; client: JupyterKernelClient }> {
  const p = provisioner(env);
  await p.prov.preLaunch({ env: p.env });
  const info = await p.prov.launch();
  const client = await JupyterKernelClient.connect(info, { timeoutMs: 60_000 });
  clients.push(client);
  return { prov: p.prov, client };
}

const waiting = (n: number) => cluster.waitFor(() => pool.stats().waiting === n, { timeoutMs: 120_000, description: `${n} pooled pods waiting` });
const isPooled = (prov: KubernetesProvisioner) => prov.resources!.podName.includes('pool-');

async function podsOf(kernelId: string): Promise<number> {
  const list = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `kernel_id=${kernelId}` });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp).length;
}

beforeAll(async () => {
  cluster.registerImage(IMAGE, {
    command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
    env: { PATH: `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`, PYTHONDONTWRITEBYTECODE: '1', GP_KERNEL_SHUTDOWN_GRACE: '1' },
  });
  const prefix = join(dir, 'prefix');
  execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', prefix, '--image-name', IMAGE], { stdio: 'pipe' });
  spec = JSON.parse(readFileSync(join(prefix, 'share', 'jupyter', 'kernels', 'k8s_python', 'kernel.json'), 'utf8')) as KernelSpecLike;
  spec.metadata!.kernel_provisioner!.config = { ...spec.metadata!.kernel_provisioner!.config, launch_timeout: 110 };
  listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
  ns = await cluster.createNamespace('pool');
  pool = new KernelPool({ name: 'k8s-python', kernelSpec: spec, size: 2, profile: { KERNEL_USERNAME: 'alice' }, kubeConfig: cluster.kc, hostEnv: { GP_NAMESPACE: ns }, canCreate: () => refill });
  await pool.start(250);
  await waiting(2);
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await pool?.stop();
  for (const p of provisioners) await p.cleanup().catch(() => undefined);
  await listener?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a warm pool of kernel pods', () => {
  it('keeps its pods labelled as kernel pods of the pool, each with its own claim Secret', async () => {
    const pods = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `${POOL_LABEL}=k8s-python` });
    expect(pods.items).toHaveLength(2);
    for (const p of pods.items) {
      expect(p.metadata?.labels).toMatchObject({ component: 'kernel', 'gp-pool-state': 'waiting' });
      const env = p.spec!.containers[0]!.env!;
      // The token is only a reference to a Secret, never a value in the pod spec.
      expect(env.find((e) => e.name === 'GP_POOL_CLAIM_TOKEN')).toMatchObject({ valueFrom: { secretKeyRef: { name: `${p.metadata!.name}-claim`, key: 'token' } } });
      expect(env.find((e) => e.name === 'GP_POOL_CLAIM_TOKEN')?.value).toBeUndefined();
    }
  });

  it('a claimed pooled kernel executes, is interrupted, restarts cold under its own name, shuts down with nothing left', async () => {
    const { prov, client } = await start();
    expect(isPooled(prov)).toBe(true);
    const podName = prov.resources!.podName;
    const pod = await cluster.core.readNamespacedPod({ namespace: ns, name: podName });
    expect(pod.metadata?.labels).toMatchObject({ kernel_id: prov.kernelId, 'gp-pool-state': 'claimed' });
    await expect(cluster.core.readNamespacedSecret({ namespace: ns, name: `${podName}-claim` })).rejects.toMatchObject({ code: 404 });
    await expect(client.execute("import os; os.environ['KERNEL_ID'], os.environ.get('KERNEL_USERNAME')")).resolves.toMatchObject({ status: 'ok', result: `('${prov.kernelId}', 'alice')` });

    const { sleeping, result } = client.startSleepingCell();
    await sleeping;
    await expect(prov.interrupt()).resolves.toBe(true);
    await expect(result).resolves.toMatchObject({ status: 'error', error: { ename: 'KeyboardInterrupt' } });

    // Re-attachment from the persisted info, as after a host restart: the pooled pod by its name.
    const again0 = new KubernetesProvisioner({ kernelId: prov.kernelId, kernelSpec: spec, kubeConfig: cluster.kc, responseListener: listener, hostEnv: { GP_NAMESPACE: ns } });
    provisioners.push(again0);
    await expect(again0.loadProvisionerInfo(prov.getProvisionerInfo())).resolves.toBe(true);
    expect(again0.resources!.podName).toBe(podName);
    const second = client.startSleepingCell();
    await second.sleeping;
    await expect(again0.interrupt()).resolves.toBe(true);
    await expect(second.result).resolves.toMatchObject({ error: { ename: 'KeyboardInterrupt' } });
    again0.detach();

    // Restart as jupyter_client does: a cold pod with the kernel's own name.
    await prov.shutdownRequested({ restart: true });
    await prov.preLaunch({ env: { KERNEL_USERNAME: 'alice' } });
    const again = await prov.launch();
    expect(prov.resources!.podName).toBe(`alice-${prov.kernelId}`);
    const client2 = await JupyterKernelClient.connect(again, { timeoutMs: 60_000 });
    clients.push(client2);
    await expect(client2.execute('6*7')).resolves.toMatchObject({ result: '42' });

    await prov.shutdownRequested();
    await prov.cleanup();
    await cluster.waitFor(async () => (await podsOf(prov.kernelId)) === 0, { timeoutMs: 60_000, description: 'the kernel pods to go' });
    // And the pool refilled meanwhile.
    await waiting(2);
  }, 240_000);

  it('launches cold for another user, other resources or a client-chosen pod name (never a pod made for someone else)', async () => {
    await waiting(2);
    const envs: Record<string, string>[] = [{ KERNEL_USERNAME: 'bob' }, { KERNEL_USERNAME: 'alice', KERNEL_CPUS: '100m' }, { KERNEL_USERNAME: 'alice', KERNEL_UID: '1001' }, { KERNEL_USERNAME: 'alice', KERNEL_POD_NAME: 'my-own-pod' }];
    for (const env of envs) {
      const { prov, client } = await start(env);
      expect(isPooled(prov), JSON.stringify(env)).toBe(false);
      await expect(client.execute("import os; os.environ['KERNEL_USERNAME']")).resolves.toMatchObject({ result: `'${env.KERNEL_USERNAME}'` });
      await prov.shutdownRequested();
      await prov.cleanup();
    }
    expect(pool.stats().waiting).toBe(2);
  }, 300_000);

  it('refuses a claim with the wrong token and the pod stays waiting, then serves a kernel', async () => {
    await waiting(2);
    const pods = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `${POOL_LABEL}=k8s-python,gp-pool-state=waiting` });
    const port = Number(pods.items[0]!.spec!.containers[0]!.env!.find((e) => e.name === 'GP_POOL_CLAIM_PORT')!.value);
    const reg = await listener.register(randomUUID());
    await expect(sendClaim({ host: '127.0.0.1', port }, randomBytes(32).toString('hex'), { kernel_id: reg.kernelId, response_address: reg.responseAddress, public_key: reg.publicKey, response_versions: '2,1' })).rejects.toThrow(/authentication failed/);
    reg.cancel();
    await expect(probeClaimPort({ host: '127.0.0.1', port })).resolves.toBe(true);
    expect(pool.stats().waiting).toBe(2);
  });

  it('a burst larger than the pool: every launch succeeds, the rest cold; the pool refills', async () => {
    await waiting(2);
    const misses = pool.stats().misses;
    // Filling held back during the burst (as under --max-kernels), so the burst certainly outruns the pool.
    refill = false;
    const launched = await Promise.all([1, 2, 3, 4].map(() => start()));
    refill = true;
    expect(launched.filter((l) => isPooled(l.prov))).toHaveLength(2);
    expect(pool.stats().misses).toBe(misses + 2);
    for (const { client } of launched) await expect(client.execute('1+1')).resolves.toMatchObject({ result: '2' });
    for (const { prov } of launched) {
      await prov.shutdownRequested();
      await prov.cleanup();
    }
    await waiting(2);
    expect(pool.stats()).toMatchObject({ size: 2, waiting: 2 });
    expect(pool.stats().claimed).toBeGreaterThanOrEqual(3);
  }, 300_000);

  it('stop() removes the waiting pods and their Secrets', async () => {
    await pool.stop();
    const pods = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `${POOL_LABEL}=k8s-python,gp-pool-state=waiting` });
    expect(pods.items.filter((p) => !p.metadata?.deletionTimestamp)).toHaveLength(0);
    const secrets = await cluster.core.listNamespacedSecret({ namespace: ns, labelSelector: `${POOL_LABEL}=k8s-python` });
    expect(secrets.items).toHaveLength(0);
  });
});
