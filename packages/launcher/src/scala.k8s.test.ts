/**
 * Scala kernels (Apache Toree 0.5.0 on Spark 3.5 / Scala 2.12, from scripts/toree-env.sh) as pods on the real
 * test control plane, launched by gp's provisioner from the `k8s_scala` kernelspec that `k8s-spec install
 * --language Scala` writes:
 *
 * - gp's image: a root made by `k8s-spec image-bootstrap install --languages scala` (bootstrap-kernel.sh +
 *   launch_toree.py), payload version 2;
 * - the reference's image layout: gateway_provisioners' own bootstrap-kernel.sh and JVM toree launcher
 *   (`kernel-launchers/scala/lib/toree-launcher_2.12-0.5.0.jar` from the wheel) beside the Toree assembly,
 *   payload version 1.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ResponseListener } from '@gp/core';
import { JupyterKernelClient, type JupyterConnectionInfo, repoRoot, testPython, testPythonBin, useCluster } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scalaValue, startSleepingScalaCell, toreeToolchain } from './kernel-side/toree.js';
import type { KernelSpecLike } from './provisioner/kernelspec.js';
import { KubernetesProvisioner } from './provisioner/provisioner.js';
import type { LaunchProgressEvent } from './launch-policy/progress.js';

const GP_IMAGE = 'gp-test/scala-gp:1';
const REF_IMAGE = 'gp-test/scala-reference:1';
/** A JVM + Scala compiler start: generous, only a hang reaches it. */
const KERNEL_READY_MS = 240_000;

const cluster = useCluster();
const toree = toreeToolchain();
const work = mkdtempSync(join(tmpdir(), 'gp-scala-k8s-'));
const path = `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`;
const specs = {} as Record<'gp' | 'reference', KernelSpecLike>;
const clients: JupyterKernelClient[] = [];
let listener: ResponseListener;
let ns: string;

const k8sSpec = (args: string[]): string =>
  execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

async function kernelPods(kernelId: string): Promise<string[]> {
  const list = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `kernel_id=${kernelId}` });
  return list.items.map((p) => p.metadata!.name!);
}

async function connect(info: JupyterConnectionInfo): Promise<JupyterKernelClient> {
  const client = await JupyterKernelClient.connect(info, { timeoutMs: KERNEL_READY_MS });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  ns = await cluster.createNamespace('scala');
  // gp's image root, as a Dockerfile would make it with `k8s-spec image-bootstrap install --languages scala`.
  const gpRoot = join(work, 'gp-image', 'usr', 'local', 'bin');
  k8sSpec(['image-bootstrap', 'install', '--prefix', gpRoot, '--languages', 'scala']);
  cluster.registerImage(GP_IMAGE, {
    command: ['bash', join(gpRoot, 'bootstrap-kernel.sh')],
    env: { PATH: path, PYTHONDONTWRITEBYTECODE: '1', SPARK_HOME: toree.sparkHome, GP_TOREE_ASSEMBLY: toree.assembly },
  });
  // The reference's image layout: its bootstrap-kernel.sh, kernel-launchers/scala/lib/{toree-launcher,toree-assembly}.
  const pkg = execFileSync(testPython(), ['-c', 'import gateway_provisioners, os; print(os.path.dirname(gateway_provisioners.__file__))']).toString().trim();
  const refRoot = join(work, 'reference-image');
  const refLib = join(refRoot, 'kernel-launchers', 'scala', 'lib');
  mkdirSync(refLib, { recursive: true });
  copyFileSync(join(pkg, 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh'), join(refRoot, 'bootstrap-kernel.sh'));
  copyFileSync(join(pkg, 'kernel-launchers', 'scala', 'lib', 'toree-launcher_2.12-0.5.0.jar'), join(refLib, 'toree-launcher_2.12-0.5.0.jar'));
  symlinkSync(toree.assembly, join(refLib, basename(toree.assembly)));
  cluster.registerImage(REF_IMAGE, {
    command: ['bash', join(refRoot, 'bootstrap-kernel.sh')],
    // The reference's script leaves ${install_dir} unsubstituted: its images set KERNEL_LAUNCHERS_DIR. A pod's host
    // name does not resolve on the process node (a kubelet writes it into /etc/hosts), and Spark needs it to: the
    // reference's launcher has no fallback, so its image gets Spark's own overrides.
    env: { PATH: path, SPARK_HOME: toree.sparkHome, KERNEL_LAUNCHERS_DIR: join(refRoot, 'kernel-launchers'), SPARK_LOCAL_IP: '127.0.0.1', SPARK_LOCAL_HOSTNAME: 'localhost' },
  });

  const prefix = join(work, 'prefix');
  k8sSpec(['install', '--prefix', prefix, '--language', 'Scala', '--image-name', GP_IMAGE]);
  specs.gp = JSON.parse(readFileSync(join(prefix, 'share', 'jupyter', 'kernels', 'k8s_scala', 'kernel.json'), 'utf8')) as KernelSpecLike;
  specs.reference = structuredClone(specs.gp);
  specs.reference.metadata!.kernel_provisioner!.config!.image_name = REF_IMAGE;
  listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
}, 300_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await listener?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("k8s_scala with gp's image (image-bootstrap --languages scala)", () => {
  it('runs Scala and Spark, is interrupted, restarts fresh, shuts down, and leaves no pod', async () => {
    const kernelId = randomUUID();
    const prov = new KubernetesProvisioner({ kernelId, kernelSpec: structuredClone(specs.gp), kubeConfig: cluster.kc, responseListener: listener, hostEnv: { GP_NAMESPACE: ns, PATH: path } });
    const progress: LaunchProgressEvent[] = [];
    try {
      await prov.preLaunch({ env: { KERNEL_USERNAME: 'scalauser' } });
      prov.onProgress((e) => progress.push(e));
      let info = await prov.launch();
      expect(info.response_version).toBe(2);
      expect(progress.map((e) => e.type)).toEqual(expect.arrayContaining(['pod-created', 'started', 'connection-info-received', 'ready']));
      let client = await connect(info);
      await expect(client.execute('val x = 6 * 7', { timeoutMs: 120_000 })).resolves.toMatchObject({ status: 'ok' });
      await expect(scalaValue(client, 'x')).resolves.toMatchObject({ status: 'ok', result: expect.stringContaining('42') });
      await expect(scalaValue(client, 'sc.parallelize(1 to 1000).sum')).resolves.toMatchObject({ status: 'ok', result: expect.stringContaining('500500') });

      const { sleeping, result } = startSleepingScalaCell(client);
      await sleeping;
      await expect(prov.interrupt()).resolves.toBe(true);
      expect((await result).error?.ename).toContain('InterruptedException');
      await expect(scalaValue(client, 'x + 1')).resolves.toMatchObject({ status: 'ok', result: expect.stringContaining('43') });

      // Restart: a new pod and a fresh interpreter (x is gone).
      client.close();
      await prov.kill({ restart: true });
      await prov.preLaunch({ env: { KERNEL_USERNAME: 'scalauser' } });
      info = await prov.launch();
      client = await connect(info);
      const fresh = await client.execute('x', { timeoutMs: 120_000 });
      expect(fresh.status).toBe('error');
      await expect(client.execute('val y = 6 * 7', { timeoutMs: 120_000 })).resolves.toMatchObject({ status: 'ok' });
      await expect(scalaValue(client, 'y')).resolves.toMatchObject({ status: 'ok', result: expect.stringContaining('42') });

      await prov.shutdownRequested();
      await prov.wait({ timeoutMs: 60_000 });
    } finally {
      await prov.cleanup();
    }
    await cluster.waitFor(async () => (await kernelPods(kernelId)).length === 0, { timeoutMs: 60_000, description: `kernel ${kernelId}'s pod to go` });
  }, 600_000);
});

describe("k8s_scala with the reference's image layout (its bootstrap-kernel.sh and JVM toree launcher)", () => {
  it('launches with payload version 1, runs Scala, is interrupted, shuts down, and leaves no pod', async () => {
    const kernelId = randomUUID();
    const prov = new KubernetesProvisioner({ kernelId, kernelSpec: structuredClone(specs.reference), kubeConfig: cluster.kc, responseListener: listener, hostEnv: { GP_NAMESPACE: ns, PATH: path } });
    try {
      await prov.preLaunch({ env: { KERNEL_USERNAME: 'scalauser' } });
      const info = await prov.launch();
      expect(info.response_version).toBe(1);
      const client = await connect(info);
      await expect(client.execute('val x = 6 * 7', { timeoutMs: 120_000 })).resolves.toMatchObject({ status: 'ok' });
      await expect(scalaValue(client, 'x')).resolves.toMatchObject({ status: 'ok', result: expect.stringContaining('42') });
      // The reference's launcher passes mode none as --nosparkcontext, and Toree's interrupt handler asks for the
      // SparkContext: created on the signal thread, it fails (NullPointerException in SparkBuildInfo on Java 17)
      // and the cell runs on. A cell that creates the context first (on the interpreter's thread) avoids it.
      await expect(scalaValue(client, 'kernel.sparkContext.parallelize(1 to 10).sum')).resolves.toMatchObject({ status: 'ok', result: expect.stringContaining('55') });
      const { sleeping, result } = startSleepingScalaCell(client);
      await sleeping;
      await expect(prov.interrupt()).resolves.toBe(true); // v1 comm request; the JVM launcher raises USR2
      expect((await result).error?.ename).toContain('InterruptedException');
      await expect(scalaValue(client, 'x + 1')).resolves.toMatchObject({ status: 'ok', result: expect.stringContaining('43') });
      await prov.shutdownRequested();
      await prov.wait({ timeoutMs: 60_000 });
    } finally {
      await prov.cleanup();
    }
    await cluster.waitFor(async () => (await kernelPods(kernelId)).length === 0, { timeoutMs: 60_000, description: `kernel ${kernelId}'s pod to go` });
  }, 600_000);
});
