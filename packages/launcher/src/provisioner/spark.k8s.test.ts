/**
 * `k8s-spec install --spark` kernelspecs for real: the provisioner spawns the spec's bin/run.sh, which renders
 * gp's pod template and runs the real spark-submit (pyspark 4) --master k8s://<test API server> --deploy-mode
 * cluster. The driver pod is the kernel (gp's launch_ipykernel.py under Spark's PythonRunner); it creates its
 * executor pods through the API server; the process node runs both as a Spark image (testkit's spark/).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResponseListener, type KernelConnectionInfo } from '@gp/core';
import { createSparkAccount, JupyterKernelClient, repoRoot, sparkImageSpec, sparkRuntime, useCluster, type SparkRuntime } from '@gp/testkit';
import { RbacAuthorizationV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelSpecLike } from './kernelspec.js';
import { KernelLaunchError } from '../watch/errors.js';
import { KubernetesProvisioner, SparkSubmitError } from './provisioner.js';

const IMAGE = 'gp-test/spark-py:4';
const SUM = 'sc.parallelize(range(100000), 4).map(lambda x: x * 2).sum()';
const cluster = useCluster();
const dir = mkdtempSync(join(tmpdir(), 'gp-spark-prov-'));
let runtime: SparkRuntime;
let spec: KernelSpecLike;
let listener: ResponseListener;
let ns: string;
let gatewayKc: KubeConfig;
const provisioners: KubernetesProvisioner[] = [];
const clients: JupyterKernelClient[] = [];

function withInitMode(mode: 'lazy' | 'eager'): KernelSpecLike {
  const copy = structuredClone(spec);
  const i = copy.argv.indexOf('--spark-context-initialization-mode');
  copy.argv[i + 1] = mode;
  return copy;
}

function provisioner(kernelId: string, kernelSpec: KernelSpecLike, host: Record<string, string> = {}): KubernetesProvisioner {
  const url = new URL(cluster.apiServerUrl);
  const p = new KubernetesProvisioner({
    kernelId,
    kernelSpec,
    kubeConfig: gatewayKc,
    responseListener: listener,
    hostEnv: {
      GP_NAMESPACE: ns,
      GP_DEFAULT_KERNEL_SERVICE_ACCOUNT_NAME: 'spark',
      // SPARK_OPTS' --master k8s://https://${KUBERNETES_SERVICE_HOST}:${KUBERNETES_SERVICE_PORT}: the test API server.
      KUBERNETES_SERVICE_HOST: url.hostname,
      KUBERNETES_SERVICE_PORT: url.port,
      SPARK_HOME: runtime.sparkHome,
      KERNEL_LAUNCHERS_DIR: join(repoRoot, 'packages', 'launcher', 'kernel-launchers'),
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...host,
    },
  });
  provisioners.push(p);
  return p;
}

async function connect(info: KernelConnectionInfo): Promise<JupyterKernelClient> {
  const c = await JupyterKernelClient.connect(info, { timeoutMs: 60_000 });
  clients.push(c);
  return c;
}

async function pods(selector: string): Promise<V1Pod[]> {
  return (await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
}

async function run(client: JupyterKernelClient, code: string, timeoutMs = 120_000): Promise<string> {
  const r = await client.execute(code, { timeoutMs });
  expect(r.status, JSON.stringify(r.error ?? r.stderr)).toBe('ok');
  return r.result ?? r.stdout.trim();
}

beforeAll(async () => {
  runtime = sparkRuntime();
  cluster.registerImage(IMAGE, sparkImageSpec(cluster.info, runtime));
  const prefix = join(dir, 'prefix');
  execFileSync(
    process.execPath,
    [
      join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', prefix, '--spark',
      '--spark-home', runtime.sparkHome, '--image-name', IMAGE,
      // Lean on a shared 2-core machine: one executor, no UI.
      '--extra-spark-opts', '--conf spark.executor.instances=1 --conf spark.ui.enabled=false',
    ],
    { stdio: 'pipe' },
  );
  spec = JSON.parse(readFileSync(join(prefix, 'share', 'jupyter', 'kernels', 'k8s_python_spark', 'kernel.json'), 'utf8')) as KernelSpecLike;
  listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
  ns = await cluster.createNamespace('spark-prov');
  // The kernel's (driver's) service account; the gateway's identity: the namespace's built-in admin role.
  // Both authenticate with tokens (Spark's fabric8 client cannot read the test cluster's EC client keys).
  await createSparkAccount(cluster, ns, 'spark');
  await cluster.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'gateway' } } });
  await cluster.kc.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
    namespace: ns,
    body: { metadata: { name: 'gateway' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' }, subjects: [{ kind: 'ServiceAccount', name: 'gateway', namespace: ns }] },
  });
  gatewayKc = await cluster.kubeConfigForServiceAccount(ns, 'gateway');
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of provisioners) await p.cleanup().catch(() => undefined);
  await listener?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a --spark kernelspec runs spark-submit for real (lazy context)', () => {
  const kernelId = randomUUID();
  let prov: KubernetesProvisioner;
  let client: JupyterKernelClient;
  let appId: string;

  it('launches: the driver pod is the kernel, with gp labels and the kernel resources mapped by the spec', async () => {
    prov = provisioner(kernelId, withInitMode('lazy'));
    const prepared = await prov.preLaunch({ env: { KERNEL_USERNAME: 'alice', KERNEL_CPUS: '500m', KERNEL_MEMORY: '512Mi', KERNEL_CPUS_LIMIT: '1' } });
    expect(prepared.mode).toBe('spawn');
    const info = await prov.launch();
    client = await connect(info);
    const driver = (await pods(`kernel_id=${kernelId},component=kernel`))[0]!;
    expect(driver.metadata?.name).toBe(`alice-${kernelId}`);
    expect(driver.metadata?.labels).toMatchObject({ kernel_id: kernelId, component: 'kernel', app: 'gateway-provisioners', 'spark-role': 'driver' });
    const res = driver.spec?.containers[0]?.resources;
    // cpu: the fractional request and the limit; memory: spark.driver.memory=512m plus Spark's overhead (384Mi minimum).
    expect(res?.requests).toMatchObject({ cpu: '500m', memory: '896Mi' });
    expect(res?.limits).toMatchObject({ cpu: '1', memory: '896Mi' });
  }, 300_000);

  it('has a SparkContext on k8s:// (created lazily) with an application id', async () => {
    expect(await run(client, 'sc.getConf().get("spark.master")')).toBe(`'k8s://${cluster.apiServerUrl}'`);
    appId = (await run(client, 'sc.applicationId')).replace(/'/g, '');
    expect(appId).toMatch(/^spark-[0-9a-f]{32}$/);
    expect(await run(client, 'sc.version')).toMatch(/^'4\./);
  }, 180_000);

  it('computes a job on an executor pod the driver created, with gp labels and resources', async () => {
    expect(await run(client, SUM)).toBe('9999900000');
    const executors = await pods(`kernel_id=${kernelId},component=worker`);
    expect(executors.length).toBe(1);
    const ex = executors[0]!;
    expect(ex.metadata?.labels).toMatchObject({ app: 'gateway-provisioners', 'spark-role': 'executor', 'spark-app-selector': appId });
    expect(ex.spec?.containers[0]?.resources?.requests).toMatchObject({ cpu: '500m', memory: '896Mi' });
    expect(ex.spec?.containers[0]?.resources?.limits).toMatchObject({ cpu: '1' });
    // The tasks ran there.
    expect(cluster.podLogs(ns, ex.metadata!.name!)).toMatch(/Finished task \d+\.0 in stage 0\.0/);
  }, 180_000);

  it('an interrupt cancels a running Spark job and the kernel stays usable', async () => {
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const result = client.execute('print("job started", flush=True)\nsc.parallelize(range(2), 2).map(lambda x: __import__("time").sleep(120) or x).sum()', {
      timeoutMs: 100_000,
      onMessage: (m) => {
        if (m.header.msg_type === 'stream') started();
      },
    });
    await running;
    // The job's tasks are running on the executor before the interrupt.
    const ex = (await pods(`kernel_id=${kernelId},component=worker`))[0]!;
    const exLog = (): string => cluster.podLogs(ns, ex.metadata!.name!);
    await cluster.waitFor(() => /Running task \d+\.0 in stage 1\.0/.test(exLog()), { timeoutMs: 60_000, description: 'the job running on the executor' });
    await expect(prov.interrupt()).resolves.toBe(true);
    const outcome = await result;
    expect(outcome.status).toBe('error');
    // The interrupted Py4J call: PySpark 4 reports it as Py4JNetworkError (caused by the KeyboardInterrupt).
    expect(['KeyboardInterrupt', 'Py4JNetworkError']).toContain(outcome.error?.ename);
    // Spark cancelled the job: the executor was told to kill its tasks (they would sleep for two minutes).
    await cluster.waitFor(() => /trying to kill task \d+\.0 in stage 1\.0/i.test(exLog()), { timeoutMs: 30_000, description: 'the executor to kill the tasks' });
    expect(await run(client, SUM)).toBe('9999900000');
  }, 240_000);

  it('restart gives a fresh SparkContext', async () => {
    await prov.kill({ restart: true });
    await prov.preLaunch({ env: { KERNEL_USERNAME: 'alice', KERNEL_CPUS: '500m', KERNEL_MEMORY: '512Mi', KERNEL_CPUS_LIMIT: '1' } });
    const info = await prov.launch();
    client = await connect(info);
    const again = (await run(client, 'sc.applicationId')).replace(/'/g, '');
    expect(again).toMatch(/^spark-[0-9a-f]{32}$/);
    expect(again).not.toBe(appId);
  }, 300_000);

  it('shutdown leaves no driver, executor, service or config map behind', async () => {
    await prov.shutdownRequested();
    await prov.wait({ timeoutMs: 60_000 });
    await prov.cleanup();
    await cluster.waitFor(
      async () => {
        const left = [
          ...(await pods(`kernel_id=${kernelId}`)).map((p) => `pod/${p.metadata?.name}`),
          ...(await cluster.core.listNamespacedService({ namespace: ns })).items.map((s) => `service/${s.metadata?.name}`),
          ...(await cluster.core.listNamespacedConfigMap({ namespace: ns })).items.filter((c) => c.metadata?.name !== 'kube-root-ca.crt').map((c) => `configmap/${c.metadata?.name}`),
        ];
        return left.length === 0;
      },
      { timeoutMs: 90_000, description: 'the kernel\'s driver, executors, services and config maps to be gone' },
    );
  }, 120_000);
});

describe('eager context initialization', () => {
  // gp's Python launcher builds the session on a background thread in both modes (as the reference does).
  it('works as lazy does: a SparkSession on k8s:// that runs a job', async () => {
    const kernelId = randomUUID();
    const prov = provisioner(kernelId, withInitMode('eager'));
    await prov.preLaunch({ env: { KERNEL_USERNAME: 'bob', KERNEL_MEMORY: '512Mi' } });
    const client = await connect(await prov.launch());
    expect(await run(client, 'spark.conf.get("spark.master")')).toBe(`'k8s://${cluster.apiServerUrl}'`);
    expect(await run(client, 'type(spark).__name__, type(sc).__name__')).toBe("('SparkSession', 'SparkContext')");
    expect(await run(client, SUM)).toBe('9999900000');
    await prov.shutdownRequested();
    await prov.wait({ timeoutMs: 60_000 });
    await prov.cleanup();
    await cluster.waitFor(async () => (await pods(`kernel_id=${kernelId}`)).length === 0, { timeoutMs: 90_000, description: 'the eager kernel\'s pods to be gone' });
  }, 300_000);
});

describe('fails fast with Spark\'s reasons, leaving nothing behind', () => {
  async function nothingLeft(kernelId: string): Promise<void> {
    await cluster.waitFor(
      async () =>
        (await pods(`kernel_id=${kernelId}`)).length === 0 &&
        (await cluster.core.listNamespacedService({ namespace: ns })).items.length === 0 &&
        (await cluster.core.listNamespacedConfigMap({ namespace: ns })).items.every((c) => c.metadata?.name === 'kube-root-ca.crt'),
      { timeoutMs: 90_000, description: 'nothing of the failed kernel left' },
    );
  }

  it('a driver image that cannot be pulled: GP_KERNEL_IMAGE_PULL_FAILED with the image named', async () => {
    const kernelId = randomUUID();
    const bad = structuredClone(spec);
    bad.metadata!.kernel_provisioner!.config = { ...bad.metadata!.kernel_provisioner!.config, image_name: 'gp-test/no-such-spark:1' };
    const prov = provisioner(kernelId, bad);
    await prov.preLaunch({ env: { KERNEL_USERNAME: 'carol' } });
    const err = await prov.launch().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelLaunchError);
    expect((err as KernelLaunchError).code).toBe('GP_KERNEL_IMAGE_PULL_FAILED');
    expect((err as Error).message).toContain('gp-test/no-such-spark:1');
    await nothingLeft(kernelId);
  }, 180_000);

  it('spark-submit failing (API server unreachable): GP_SPARK_SUBMIT_FAILED with Spark\'s exception', async () => {
    const kernelId = randomUUID();
    const prov = provisioner(kernelId, spec, { KUBERNETES_SERVICE_PORT: '1' });
    await prov.preLaunch({ env: { KERNEL_USERNAME: 'dave' } });
    const err = await prov.launch().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SparkSubmitError);
    expect((err as SparkSubmitError).code).toBe('GP_SPARK_SUBMIT_FAILED');
    expect((err as Error).message).toMatch(/spark-submit .* exited with code \d+: .*(Exception|Error)/);
    await nothingLeft(kernelId);
  }, 180_000);
});
