/**
 * A `k8s-spec install --spark` Python kernel through gp-gateway and Jupyter Server (--gateway-url): the gateway's
 * provisioner runs the spec's bin/run.sh, i.e. the real spark-submit (pyspark 4) in cluster mode against the
 * test API server; the driver pod is the kernel and creates an executor pod; code runs over Jupyter Server's
 * WebSocket; DELETE leaves nothing behind. The process node runs the Spark image (testkit's spark/).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createSparkAccount, freePorts, repoRoot, sparkImageSpec, sparkRuntime, useCluster } from '@gp/testkit';
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayHandle } from '../gateway.js';
import { DEFAULT_ALLOWED_ENV } from '../options.js';
import { TestJupyterServer } from './jupyter-server.js';

const IMAGE = 'gp-test/gateway-spark-py:4';
const cluster = useCluster();
const dir = mkdtempSync(join(tmpdir(), 'gp-gateway-spark-'));
const kernelsDir = join(dir, 'prefix', 'share', 'jupyter', 'kernels');
const token = randomUUID();
let ns: string;
let gateway: GatewayHandle | undefined;
let server: TestJupyterServer | undefined;

async function leftovers(kernelId: string): Promise<string[]> {
  return [
    ...(await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `kernel_id=${kernelId}` })).items.map((p) => `pod/${p.metadata?.name}`),
    ...(await cluster.core.listNamespacedService({ namespace: ns })).items.map((s) => `service/${s.metadata?.name}`),
    ...(await cluster.core.listNamespacedConfigMap({ namespace: ns })).items.filter((c) => c.metadata?.name !== 'kube-root-ca.crt').map((c) => `configmap/${c.metadata?.name}`),
  ];
}

beforeAll(async () => {
  const runtime = sparkRuntime();
  cluster.registerImage(IMAGE, sparkImageSpec(cluster.info, runtime));
  execFileSync(
    process.execPath,
    [
      join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', join(dir, 'prefix'), '--spark',
      '--spark-home', runtime.sparkHome, '--image-name', IMAGE,
      '--extra-spark-opts', '--conf spark.executor.instances=1 --conf spark.ui.enabled=false',
    ],
    { stdio: 'pipe' },
  );
  ns = await cluster.createNamespace('gw-spark');
  await createSparkAccount(cluster, ns, 'spark');
  // The gateway's identity: a token (Spark's client cannot read the test cluster's EC client keys) with the
  // namespace's built-in admin role.
  await cluster.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'gateway' } } });
  await cluster.kc.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
    namespace: ns,
    body: { metadata: { name: 'gateway' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' }, subjects: [{ kind: 'ServiceAccount', name: 'gateway', namespace: ns }] },
  });
  const url = new URL(cluster.apiServerUrl);
  const [gatewayPort, serverPort] = (await freePorts(2)) as [number, number];
  gateway = await startGateway({
    ip: '127.0.0.1',
    port: gatewayPort,
    token,
    kernelspec_dirs: [kernelsDir],
    state_file: join(dir, 'state', 'kernels.json'),
    allowed_env: [...DEFAULT_ALLOWED_ENV],
    orphan_namespaces: [ns],
    log_level: 'warn',
    kubeConfig: await cluster.kubeConfigForServiceAccount(ns, 'gateway'),
    hostEnv: {
      GP_NAMESPACE: ns,
      GP_DEFAULT_KERNEL_SERVICE_ACCOUNT_NAME: 'spark',
      KUBERNETES_SERVICE_HOST: url.hostname,
      KUBERNETES_SERVICE_PORT: url.port,
      SPARK_HOME: runtime.sparkHome,
      KERNEL_LAUNCHERS_DIR: join(repoRoot, 'packages', 'launcher', 'kernel-launchers'),
      PATH: process.env.PATH,
    },
    responseListener: { ip: '127.0.0.1', port: 0 },
  });
  server = new TestJupyterServer({ port: serverPort, gatewayUrl: gateway.url, gatewayToken: token, dir: join(dir, 'server'), kernelEnv: { KERNEL_USERNAME: 'alice', KERNEL_MEMORY: '512Mi' } });
  await server.ready();
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await gateway?.close({ stopKernels: true }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('a --spark kernel through gp-gateway and Jupyter Server', () => {
  it('starts the driver pod as the kernel, runs a job on an executor pod, and leaves nothing after DELETE', async () => {
    const started = await server!.request('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_python_spark' }) });
    expect(started.status, server!.log.slice(-3000)).toBe(201);
    const kernelId: string = started.body.id;
    const driver = await cluster.core.readNamespacedPod({ namespace: ns, name: `alice-${kernelId}` });
    expect(driver.metadata?.labels).toMatchObject({ kernel_id: kernelId, component: 'kernel', app: 'gateway-provisioners', 'spark-role': 'driver' });

    const master = await server!.execute(kernelId, 'sc.getConf().get("spark.master"), sc.applicationId');
    expect(master.status, master.stdout).toBe('ok');
    expect(master.result).toMatch(new RegExp(`^\\('k8s://${cluster.apiServerUrl.replace(/[.]/g, '\\.')}', 'spark-[0-9a-f]{32}'\\)$`));
    const sum = await server!.execute(kernelId, 'sc.parallelize(range(100000), 4).map(lambda x: x * 2).sum()');
    expect(sum).toMatchObject({ status: 'ok', result: '9999900000' });
    const executors = (await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `kernel_id=${kernelId},component=worker` })).items;
    expect(executors.map((p) => p.metadata?.labels?.['spark-role'])).toEqual(['executor']);
    expect(cluster.podLogs(ns, executors[0]!.metadata!.name!)).toMatch(/Finished task \d+\.0 in stage 0\.0/);

    const deleted = await server!.request(`/api/kernels/${kernelId}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    await cluster.waitFor(async () => (await leftovers(kernelId)).length === 0, { timeoutMs: 90_000, description: 'the Spark kernel\'s pods, services and config maps to be gone' });
  }, 300_000);
});
