/**
 * The process node runs a Spark image: a real spark-submit in cluster mode against the test API server, the
 * driver pod (entrypoint `driver`) creating an executor pod (entrypoint `executor`) through the API, the
 * executor reaching the driver by its Service name through the hosts file the cluster keeps.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../vitest.js';
import { createSparkAccount, type SparkAccount } from './account.js';
import { clusterHostsFile, sparkImageSpec, sparkRuntime, type SparkRuntime } from './image.js';

const IMAGE = 'gp-test/spark-image:4';
const cluster = useCluster();
const dir = mkdtempSync(join(tmpdir(), 'gp-spark-image-'));
let ns: string;
let account: SparkAccount;
let runtime: SparkRuntime;

beforeAll(async () => {
  runtime = sparkRuntime();
  cluster.registerImage(IMAGE, sparkImageSpec(cluster.info, runtime));
  ns = await cluster.createNamespace('spark-image');
  account = await createSparkAccount(cluster, ns);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a Spark image on the process node', () => {
  it('runs spark-submit --deploy-mode cluster: the driver pod starts an executor pod that computes the job', async () => {
    const app = join(dir, 'job.py');
    writeFileSync(
      app,
      [
        'from pyspark.sql import SparkSession',
        'spark = SparkSession.builder.getOrCreate()',
        'sc = spark.sparkContext',
        'print("MASTER", sc.getConf().get("spark.master"), "MODE", sc.getConf().get("spark.submit.deployMode"))',
        'print("SUM", sc.parallelize(range(100000), 4).map(lambda x: x * 2).sum())',
        'spark.stop()',
      ].join('\n'),
    );
    const submit = spawnSync(
      join(runtime.sparkHome, 'bin', 'spark-submit'),
      [
        '--master', `k8s://${cluster.apiServerUrl}`,
        '--deploy-mode', 'cluster',
        '--name', 'image-test',
        '--conf', `spark.kubernetes.namespace=${ns}`,
        '--conf', `spark.kubernetes.container.image=${IMAGE}`,
        '--conf', `spark.kubernetes.authenticate.driver.serviceAccountName=${account.serviceAccountName}`,
        '--conf', 'spark.kubernetes.driver.pod.name=image-test-driver',
        '--conf', 'spark.kubernetes.submission.waitAppCompletion=false',
        '--conf', 'spark.executor.instances=1',
        '--conf', 'spark.driver.memory=512m',
        '--conf', 'spark.executor.memory=512m',
        '--conf', 'spark.ui.enabled=false',
        `local://${app}`,
      ],
      { env: { ...process.env, KUBECONFIG: account.kubeconfigPath, SPARK_HOME: runtime.sparkHome }, encoding: 'utf8', timeout: 120_000 },
    );
    expect(submit.status, submit.stderr).toBe(0);
    // The executor: a pod the driver created, labelled by Spark, that ran tasks.
    const executor = await cluster.waitFor(
      async () => (await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: 'spark-role=executor' })).items[0],
      { timeoutMs: 120_000, description: 'an executor pod' },
    );
    expect(executor.metadata?.ownerReferences?.[0]?.name).toBe('image-test-driver');
    // The executor reaches the driver by its Service name, through the hosts file the cluster keeps (the driver
    // deletes the Service when it stops).
    const svc = (await cluster.core.listNamespacedService({ namespace: ns })).items[0]?.metadata?.name;
    expect(svc).toMatch(/^image-test-[0-9a-f]+-driver-svc$/);
    expect(readFileSync(clusterHostsFile(cluster.info), 'utf8')).toContain(`127.0.0.1 ${svc}.${ns}.svc\n`);
    const driver = await cluster.waitFor(
      async () => {
        const p = await cluster.core.readNamespacedPod({ namespace: ns, name: 'image-test-driver' });
        return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p : undefined;
      },
      { timeoutMs: 180_000, description: 'the driver to finish' },
    );
    const log = cluster.podLogs(ns, 'image-test-driver');
    expect(driver.status?.phase, log).toBe('Succeeded');
    expect(log).toContain(`MASTER k8s://${cluster.apiServerUrl} MODE client`);
    expect(log).toContain('SUM 9999900000');
    expect(cluster.podLogs(ns, executor.metadata!.name!)).toMatch(/Finished task \d+\.0 in stage 0\.0/);
  }, 300_000);
});
