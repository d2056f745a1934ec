/**
 * `k8s-spec image-bootstrap install` end to end: the built CLI installs the launchers into a temp "image" root,
 * and a kernel pod whose image runs that root's bootstrap-kernel.sh (the process node's image table) is
 * launched by the provisioner from a kernelspec the same CLI installed, runs code, is interrupted, shuts down.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ResponseListener } from '@gp/core';
import { KubernetesProvisioner, type KernelSpecLike } from '@gp/launcher';
import { JupyterKernelClient, testPythonBin, useCluster } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(pkgDir, 'dist', 'bin', 'k8s-spec.js');
const IMAGE = 'gp-test/image-bootstrapped-py:1';

const cluster = useCluster();
const work = mkdtempSync(join(tmpdir(), 'gp-image-bootstrap-k8s-'));
let listener: ResponseListener;
let namespace: string;
let kernelSpec: KernelSpecLike;
let prov: KubernetesProvisioner | undefined;
let client: JupyterKernelClient | undefined;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const k8sSpec = (args: string[]): string => execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(async () => {
  // The bin bundles @gp/core's sources too, so either changing makes it stale.
  const sources = Math.max(newestMtime(join(pkgDir, 'src')), newestMtime(join(pkgDir, '..', 'core', 'src')));
  if (!existsSync(bin) || statSync(bin).mtimeMs < sources) execFileSync('pnpm', ['exec', 'tsup'], { cwd: pkgDir, stdio: 'pipe', timeout: 300_000 });
  const imageRoot = join(work, 'image', 'usr', 'local', 'bin');
  k8sSpec(['image-bootstrap', 'install', '--prefix', imageRoot, '--languages', 'python']);
  cluster.registerImage(IMAGE, {
    command: ['bash', join(imageRoot, 'bootstrap-kernel.sh')],
    env: { PATH: `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`, PYTHONDONTWRITEBYTECODE: '1' },
  });
  const prefix = join(work, 'prefix');
  k8sSpec(['install', '--prefix', prefix, '--image-name', IMAGE]);
  kernelSpec = JSON.parse(readFileSync(join(prefix, 'share', 'jupyter', 'kernels', 'k8s_python', 'kernel.json'), 'utf8')) as KernelSpecLike;
  listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
  namespace = await cluster.createNamespace('imgboot');
}, 600_000);

afterAll(async () => {
  client?.close();
  await prov?.cleanup().catch(() => undefined);
  await listener?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('a kernel image bootstrapped by k8s-spec image-bootstrap install', () => {
  it('installed the launchers into the image root', () => {
    const root = join(work, 'image', 'usr', 'local', 'bin');
    expect(statSync(join(root, 'bootstrap-kernel.sh')).mode & 0o777).toBe(0o755);
    expect(existsSync(join(root, 'kernel-launchers', 'python', 'scripts', 'launch_ipykernel.py'))).toBe(true);
    expect(existsSync(join(root, 'kernel-launchers', 'python', 'scripts', 'gp_launcher.py'))).toBe(true);
  });

  it('launches through the provisioner, runs code, takes an interrupt and shuts down, leaving no pod', async () => {
    const kernelId = randomUUID();
    prov = new KubernetesProvisioner({ kernelId, kernelSpec, kubeConfig: cluster.kc, responseListener: listener, hostEnv: { GP_NAMESPACE: namespace } });
    const prepared = await prov.preLaunch({ env: { KERNEL_USERNAME: 'ada' } });
    const info = await prov.launch();
    expect(info.response_version).toBe(2); // gp's launcher, not the reference's
    client = await JupyterKernelClient.connect(info, { timeoutMs: 60_000 });
    await expect(client.execute('1+1')).resolves.toMatchObject({ status: 'ok', result: '2' });

    const { sleeping, result: running } = client.startSleepingCell();
    await sleeping;
    await expect(prov.interrupt()).resolves.toBe(true);
    expect((await running).error?.ename).toBe('KeyboardInterrupt');

    await prov.shutdownRequested();
    await expect(prov.wait({ timeoutMs: 60_000 })).resolves.not.toBeNull();
    await prov.cleanup();
    await cluster.waitFor(
      () => cluster.core.readNamespacedPod({ namespace, name: prepared.podName }).then(() => false, (e: { code?: number }) => e.code === 404),
      { timeoutMs: 60_000, description: `pod ${prepared.podName} to be deleted` },
    );
  });
});
