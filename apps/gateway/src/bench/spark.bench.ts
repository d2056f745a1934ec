/**
 * Spark kernel benchmark on a testkit cluster of its own (`pnpm --filter @gp/gateway bench`, also run by `pnpm bench`):
 * POST /api/kernels of a `k8s-spec install --spark` Python kernel (real spark-submit in cluster mode, driver pod +
 * one executor pod on the process node's Spark image) to the first result of
 * `sc.parallelize(range(100000), 4).map(lambda x: x * 2).sum()` over the kernel's WebSocket, p50/p95 over
 * GP_BENCH_SPARK_RUNS runs (default 3, one kernel at a time), and the same for a plain Python kernel (`6*7`) as the
 * yardstick; executor pods created and left per Spark kernel after DELETE. Numbers depend on the machine's load
 * (printed with the table).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSparkAccount, repoRoot, sparkImageSpec, sparkRuntime, startCluster, testPythonBin, type TestCluster } from '@gp/testkit';
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { startGateway, type GatewayHandle } from '../gateway.js';

const SPARK_IMAGE = 'gp-bench/spark-py:4';
const PY_IMAGE = 'gp-bench/kernel-py:1';
const RUNS = Number(process.env.GP_BENCH_SPARK_RUNS ?? '3');
const SUM = 'sc.parallelize(range(100000), 4).map(lambda x: x * 2).sum()';

function execute(gw: GatewayHandle, token: string, kernelId: string, code: string, expected: string): Promise<void> {
  const ws = new WebSocket(`${gw.url.replace(/^http/, 'ws')}/api/kernels/${kernelId}/channels?session_id=${randomUUID()}`, { headers: { Authorization: `token ${token}` } });
  const msgId = randomUUID();
  return new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { parent_header?: { msg_id?: string }; header: { msg_type: string }; content: { data?: Record<string, string>; ename?: string } };
      if (msg.parent_header?.msg_id !== msgId) return;
      if (msg.header.msg_type === 'execute_result') {
        if (msg.content.data?.['text/plain'] === expected) resolve();
        else reject(new Error(`unexpected result ${JSON.stringify(msg.content.data)}`));
      } else if (msg.header.msg_type === 'error') reject(new Error(`execute failed: ${msg.content.ename}`));
    });
    ws.once('open', () =>
      ws.send(JSON.stringify({
        channel: 'shell',
        header: { msg_id: msgId, msg_type: 'execute_request', session: randomUUID(), username: 'bench', date: new Date().toISOString(), version: '5.3' },
        parent_header: {}, metadata: {},
        content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
        buffers: [],
      })),
    );
  }).finally(() => ws.close());
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function runs(cluster: TestCluster, ns: string, gw: GatewayHandle, token: string, spec: string, code: string, expected: string) {
  const ms: number[] = [];
  const executors: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const res = await fetch(`${gw.url}/api/kernels`, { method: 'POST', headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: spec, env: { KERNEL_USERNAME: 'bench', KERNEL_MEMORY: '512Mi' } }) });
    const body = (await res.json()) as { id?: string; message?: string };
    if (res.status !== 201 || !body.id) throw new Error(`POST /api/kernels ${spec}: ${res.status} ${JSON.stringify(body)}`);
    await execute(gw, token, body.id, code, expected);
    ms.push(performance.now() - t0);
    executors.push((await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `kernel_id=${body.id},component=worker` })).items.length);
    await fetch(`${gw.url}/api/kernels/${body.id}`, { method: 'DELETE', headers: { Authorization: `token ${token}` } });
    await cluster.waitFor(async () => (await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `kernel_id=${body.id}` })).items.length === 0, { timeoutMs: 120_000, description: 'the kernel pods to go' });
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p95: percentile(ms, 95), executors };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gp-spark-bench-'));
  const cluster = await startCluster({ installSparkCrd: false });
  let gw: GatewayHandle | undefined;
  try {
    const runtime = sparkRuntime();
    cluster.registerImage(SPARK_IMAGE, sparkImageSpec(cluster.info, runtime));
    cluster.registerImage(PY_IMAGE, {
      command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
      env: { PATH: `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`, PYTHONDONTWRITEBYTECODE: '1' },
    });
    const prefix = join(dir, 'prefix');
    const cli = join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js');
    execFileSync(process.execPath, [cli, 'install', '--prefix', prefix, '--spark', '--spark-home', runtime.sparkHome, '--image-name', SPARK_IMAGE, '--extra-spark-opts', '--conf spark.executor.instances=1 --conf spark.ui.enabled=false'], { stdio: 'pipe' });
    execFileSync(process.execPath, [cli, 'install', '--prefix', prefix, '--image-name', PY_IMAGE], { stdio: 'pipe' });
    const ns = await cluster.createNamespace('spark-bench');
    await createSparkAccount(cluster, ns, 'spark');
    await cluster.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'gateway' } } });
    await cluster.kc.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
      namespace: ns,
      body: { metadata: { name: 'gateway' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' }, subjects: [{ kind: 'ServiceAccount', name: 'gateway', namespace: ns }] },
    });
    const url = new URL(cluster.apiServerUrl);
    const token = randomUUID();
    gw = await startGateway({
      ip: '127.0.0.1', port: 0, token,
      kernelspec_dirs: [join(prefix, 'share', 'jupyter', 'kernels')],
      state_file: join(dir, 'state', 'kernels.json'),
      orphan_namespaces: [ns],
      log_level: 'error',
      kubeConfig: await cluster.kubeConfigForServiceAccount(ns, 'gateway', 7200),
      hostEnv: {
        GP_NAMESPACE: ns, GP_DEFAULT_KERNEL_SERVICE_ACCOUNT_NAME: 'spark',
        KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port,
        SPARK_HOME: runtime.sparkHome, KERNEL_LAUNCHERS_DIR: join(repoRoot, 'packages', 'launcher', 'kernel-launchers'),
        PATH: process.env.PATH, GP_LAUNCH_TIMEOUT: '300',
      },
      responseListener: { ip: '127.0.0.1', port: 0 },
    });
    const python = await runs(cluster, ns, gw, token, 'k8s_python', '6*7', '42');
    const spark = await runs(cluster, ns, gw, token, 'k8s_python_spark', SUM, '9999900000');
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    process.stdout.write(
      [
        `Spark kernel benchmark: ${RUNS} runs each, one kernel at a time; ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
        '| kernel | POST → first result p50 | p95 | executor pods per kernel |',
        '|---|---|---|---|',
        `| k8s_python (6*7) | ${s(python.p50)} | ${s(python.p95)} | - |`,
        `| k8s_python_spark (sum on executors) | ${s(spark.p50)} | ${s(spark.p95)} | ${spark.executors.join(', ')} (none left after DELETE) |`,
        '',
      ].join('\n'),
    );
  } finally {
    await gw?.close({ stopKernels: true }).catch(() => undefined);
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
