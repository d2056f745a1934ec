/**
 * The provisioners end to end on the real test control plane: a kernelspec installed by the built `k8s-spec`
 * CLI, a pod on the process node running a real ipykernel through gp's launcher (bootstrap-kernel.sh) or the
 * reference's launch_ipykernel.py, a Jupyter client executing code, interrupts through the comm port,
 * re-attachment from persisted info, fail-fast, and nothing left behind.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResponseListener, type KernelConnectionInfo } from '@gp/core';
import { JupyterKernelClient, repoRoot, testPython, testPythonBin, useCluster } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LaunchProgressEvent } from '../launch-policy/progress.js';
import { KernelLaunchError } from '../watch/errors.js';
import type { KernelSpecLike } from './kernelspec.js';
import { createKubeClient } from '../kube.js';
import { KubernetesProvisioner, SparkOperatorProvisioner, type KubernetesProvisionerBase, type ProvisionerOptions } from './provisioner.js';

const GP_IMAGE = 'gp-test/provisioner-kernel-py:1';
const REF_IMAGE = 'gp-test/provisioner-reference-py:1';
const MISSING_IMAGE = 'gp-test/provisioner-no-such-image:1';
/** Long enough that only a hang reaches it: launches must succeed, or fail with their own code. */
const LAUNCH_TIMEOUT = 110;

const cluster = useCluster();
const dir = mkdtempSync(join(tmpdir(), 'gp-provisioner-'));
let spec: KernelSpecLike;
let rSpec: KernelSpecLike;
let sparkSpec: KernelSpecLike;
let scriptDir: string;
let listener: ResponseListener;
let ns: string;
const clients: JupyterKernelClient[] = [];
const provisioners: KubernetesProvisionerBase[] = [];
const kernelIds = new Set<string>();

function kernelSpec(image: string, base: KernelSpecLike = spec): KernelSpecLike {
  const copy = structuredClone(base);
  copy.metadata!.kernel_provisioner!.config = { ...copy.metadata!.kernel_provisioner!.config, image_name: image, launch_timeout: LAUNCH_TIMEOUT };
  return copy;
}

function provisioner(kernelId: string, image: string, extra: Partial<ProvisionerOptions> = {}): KubernetesProvisioner {
  const p = new KubernetesProvisioner({
    kernelId,
    kernelSpec: kernelSpec(image),
    kubeConfig: cluster.kc,
    responseListener: listener,
    hostEnv: { GP_NAMESPACE: ns },
    ...extra,
  });
  provisioners.push(p);
  kernelIds.add(kernelId);
  return p;
}

async function connect(info: KernelConnectionInfo): Promise<JupyterKernelClient> {
  const client = await JupyterKernelClient.connect(info, { timeoutMs: 60_000 });
  clients.push(client);
  return client;
}

async function podGone(namespace: string, name: string): Promise<void> {
  await cluster.waitFor(
    async () => {
      try {
        await cluster.core.readNamespacedPod({ namespace, name });
        return false;
      } catch (e) {
        return (e as { code?: number }).code === 404;
      }
    },
    { timeoutMs: 60_000, description: `pod ${namespace}/${name} to be deleted` },
  );
}

async function kernelPods(namespace: string, kernelId: string): Promise<number> {
  const list = await cluster.core.listNamespacedPod({ namespace, labelSelector: `kernel_id=${kernelId}` });
  return list.items.length;
}

/** Runs `time.sleep(60)`, interrupts it through the provisioner once it runs, and expects a KeyboardInterrupt. */
async function expectInterrupt(client: JupyterKernelClient, interrupt: () => Promise<boolean>): Promise<void> {
  const { sleeping, result } = client.startSleepingCell();
  await sleeping;
  await expect(interrupt()).resolves.toBe(true);
  const outcome = await result;
  expect(outcome.status).toBe('error');
  expect(outcome.error?.ename).toBe('KeyboardInterrupt');
}

beforeAll(async () => {
  const python = testPython();
  const path = `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  // gp's image: the repository's bootstrap-kernel.sh with the venv's python (ipykernel, cryptography) first on PATH.
  cluster.registerImage(GP_IMAGE, {
    command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
    env: { PATH: path, PYTHONDONTWRITEBYTECODE: '1' },
  });
  // A reference image: gateway_provisioners' own launch_ipykernel.py + server_listener.py (as image-bootstrap installs them).
  const pkg = execFileSync(python, ['-c', 'import gateway_provisioners, os; print(os.path.dirname(gateway_provisioners.__file__))']).toString().trim();
  const refDir = join(dir, 'reference');
  execFileSync('mkdir', ['-p', refDir]);
  copyFileSync(join(pkg, 'kernel-launchers', 'python', 'scripts', 'launch_ipykernel.py'), join(refDir, 'launch_ipykernel.py'));
  copyFileSync(join(pkg, 'kernel-launchers', 'shared', 'scripts', 'server_listener.py'), join(refDir, 'server_listener.py'));
  cluster.registerImage(REF_IMAGE, {
    command: [
      'bash',
      '-c',
      `exec python ${join(refDir, 'launch_ipykernel.py')} --kernel-id "$KERNEL_ID" --port-range "$PORT_RANGE" --response-address "$RESPONSE_ADDRESS" --public-key "$PUBLIC_KEY" --spark-context-initialization-mode none`,
    ],
    env: { PATH: path, PYTHONDONTWRITEBYTECODE: '1' },
  });
  // The kernelspec, installed by the built CLI.
  const prefix = join(dir, 'prefix');
  execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', prefix, '--image-name', GP_IMAGE], { stdio: 'pipe' });
  spec = JSON.parse(readFileSync(join(prefix, 'share', 'jupyter', 'kernels', 'k8s_python', 'kernel.json'), 'utf8')) as KernelSpecLike;
  scriptDir = join(prefix, 'share', 'jupyter', 'kernels', 'k8s_python', 'scripts');
  execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', prefix, '--language', 'R', '--image-name', GP_IMAGE], { stdio: 'pipe' });
  execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', prefix, '--crd', '--spark', '--image-name', GP_IMAGE], { stdio: 'pipe' });
  sparkSpec = JSON.parse(readFileSync(join(prefix, 'share', 'jupyter', 'kernels', 'k8s_python_spark_operator', 'kernel.json'), 'utf8')) as KernelSpecLike;
  rSpec = JSON.parse(readFileSync(join(prefix, 'share', 'jupyter', 'kernels', 'k8s_r', 'kernel.json'), 'utf8')) as KernelSpecLike;
  listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
  ns = await cluster.createNamespace('prov');
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of provisioners) await p.cleanup().catch(() => undefined);
  await listener?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('KubernetesProvisioner with gp\'s launcher in the pod', () => {
  const kernelId = randomUUID();
  let prov: KubernetesProvisioner;
  let info: KernelConnectionInfo;
  let client: JupyterKernelClient;
  const progress: LaunchProgressEvent[] = [];
  let savedInfo: unknown;

  it('launches in-process from the installed kernelspec, with progress, and runs code', async () => {
    prov = provisioner(kernelId, GP_IMAGE);
    const prepared = await prov.preLaunch({ env: { KERNEL_USERNAME: 'alice' } });
    expect(prepared).toMatchObject({ mode: 'in-process', namespace: ns, namespaceMode: 'shared', podName: `alice-${kernelId}` });
    expect(prepared.env).toMatchObject({ KERNEL_ID: kernelId, KERNEL_LANGUAGE: 'python', KERNEL_IMAGE: GP_IMAGE, KERNEL_USERNAME: 'alice' });
    prov.onProgress((e) => progress.push(e));
    info = await prov.launch();
    expect(info.ip).toBe('127.0.0.1');
    expect(info.response_version).toBe(2);
    expect(info.comm_secret).toBeTruthy();
    const types = progress.map((e) => e.type);
    for (const t of ['pod-created', 'scheduled', 'started', 'pod-running', 'connection-info-received', 'ready']) expect(types).toContain(t);
    expect(types.indexOf('ready')).toBe(types.length - 1);
    expect(prov.poll()).toBeNull();
    await expect(prov.sendSignal(0)).resolves.toBe(true);
    client = await connect(info);
    await expect(client.execute('1+1')).resolves.toMatchObject({ status: 'ok', result: '2' });
  });

  it('interrupts a running cell through the authenticated comm port', async () => {
    await expectInterrupt(client, () => prov.interrupt());
    await expect(client.execute('40+2')).resolves.toMatchObject({ result: '42' });
  });

  it('re-attaches from getProvisionerInfo() with a fresh provisioner, which signals and shuts the kernel down', async () => {
    const saved = JSON.parse(JSON.stringify(prov.getProvisionerInfo()));
    savedInfo = saved;
    expect(saved).toMatchObject({
      kernel_id: kernelId,
      kernel_ns: ns,
      delete_ns: false,
      assigned_host: `alice-${kernelId}`,
      assigned_ip: '127.0.0.1',
      comm_port: info.comm_port,
      gp: { provisioner: 'kubernetes', namespace_mode: 'shared', pod_name: `alice-${kernelId}` },
    });
    expect(saved.connection_info.key).toBe(info.key);
    // The host restarted: the old instance is gone (its watches released), a new one reads the saved info.
    prov.detach();
    const again = provisioner(kernelId, GP_IMAGE);
    await expect(again.loadProvisionerInfo(saved)).resolves.toBe(true);
    expect(again.poll()).toBeNull();
    const client2 = await connect(again.connectionInfo!);
    await expectInterrupt(client2, () => again.interrupt());
    await expect(client2.execute('3*3')).resolves.toMatchObject({ result: '9' });

    await again.shutdownRequested();
    await expect(again.wait({ timeoutMs: 60_000 })).resolves.not.toBeNull();
    await again.cleanup();
    await podGone(ns, `alice-${kernelId}`);
    expect(await kernelPods(ns, kernelId)).toBe(0);
  });

  it('a provisioner re-attaching to a kernel that is gone reports it dead and deletes nothing else', async () => {
    const saved = JSON.parse(JSON.stringify(savedInfo));
    const late = provisioner(kernelId, GP_IMAGE);
    await expect(late.loadProvisionerInfo(saved)).resolves.toBe(false);
    expect(late.poll()).toBe(0);
    await late.cleanup();
  });
});

describe('KubernetesProvisioner with the reference launcher (launch_ipykernel.py) in the pod', () => {
  it('receives its version 1 payload, runs code, interrupts it, and shuts it down', async () => {
    const kernelId = randomUUID();
    const prov = provisioner(kernelId, REF_IMAGE);
    await prov.preLaunch({ env: { KERNEL_USERNAME: 'bob' } });
    const info = await prov.launch();
    expect(info.response_version).toBe(1);
    expect(info.comm_secret).toBeUndefined();
    const client = await connect(info);
    await expect(client.execute('1+1')).resolves.toMatchObject({ status: 'ok', result: '2' });
    await expectInterrupt(client, () => prov.interrupt());
    await prov.shutdownRequested();
    await prov.cleanup();
    await podGone(ns, `bob-${kernelId}`);
  });
});

describe('fail fast', () => {
  it('an unknown image ends the launch with GP_KERNEL_IMAGE_PULL_FAILED and removes the pod', async () => {
    const kernelId = randomUUID();
    const prov = provisioner(kernelId, MISSING_IMAGE);
    await prov.preLaunch({ env: { KERNEL_USERNAME: 'carol' } });
    const error = await prov.launch().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KernelLaunchError);
    expect((error as KernelLaunchError).code).toBe('GP_KERNEL_IMAGE_PULL_FAILED');
    expect((error as KernelLaunchError).failure.image).toBe(MISSING_IMAGE);
    await podGone(ns, `carol-${kernelId}`);
    expect(prov.hasProcess).toBe(false);
    await prov.cleanup();
  });

  it('an unauthorized user is refused in preLaunch, before anything exists', async () => {
    const kernelId = randomUUID();
    const prov = provisioner(kernelId, GP_IMAGE);
    await expect(prov.preLaunch({ env: { KERNEL_USERNAME: 'root' } })).rejects.toMatchObject({ code: 'GP_USER_NOT_AUTHORIZED' });
    expect(await kernelPods(ns, kernelId)).toBe(0);
  });
});

describe('automatic namespace mode', () => {
  it('creates the kernel\'s namespace, runs the kernel in it, and deletes it at shutdown', async () => {
    const kernelId = randomUUID();
    const prov = provisioner(kernelId, GP_IMAGE, { hostEnv: { GP_SHARED_NAMESPACE: 'false' } });
    const prepared = await prov.preLaunch({ env: { KERNEL_USERNAME: 'dave' } });
    expect(prepared.namespaceMode).toBe('auto');
    const namespace = prepared.namespace;
    const types: string[] = [];
    prov.onProgress((e) => types.push(e.type));
    const info = await prov.launch();
    expect(types[0]).toBe('namespace-created');
    expect(prov.getProvisionerInfo()).toMatchObject({ kernel_ns: namespace, delete_ns: true });
    const client = await connect(info);
    await expect(client.execute('1+1')).resolves.toMatchObject({ result: '2' });
    await prov.shutdownRequested();
    await prov.cleanup();
    await cluster.waitFor(
      async () => {
        try {
          await cluster.core.readNamespace({ name: namespace });
          return false;
        } catch (e) {
          return (e as { code?: number }).code === 404;
        }
      },
      { timeoutMs: 120_000, description: `namespace ${namespace} to be deleted` },
    );
  });
});

describe('a kernelspec argv that is not gp\'s launch script', () => {
  it('is spawned with the placeholders substituted, and SIGKILL deletes the pod', async () => {
    const kernelId = randomUUID();
    // The same launcher behind a shell: not recognized as gp's, so spawned as the reference spawns argvs.
    const wrapped = kernelSpec(GP_IMAGE);
    wrapped.argv = ['bash', '-c', 'exec "$0" "$@"', process.execPath, join(scriptDir, 'launch_kubernetes.mjs'), ...spec.argv.slice(2)];
    const prov = provisioner(kernelId, GP_IMAGE, { kernelSpec: wrapped, hostEnv: { GP_NAMESPACE: ns, KUBECONFIG: cluster.kubeconfigPath, PATH: process.env.PATH ?? '' } });
    const prepared = await prov.preLaunch({ env: { KERNEL_USERNAME: 'erin' } });
    expect(prepared.mode).toBe('spawn');
    expect(prepared.argv).toContain(kernelId);
    expect(prepared.argv.join(' ')).not.toMatch(/\{(kernel_id|response_address|public_key|port_range)\}/);
    const info = await prov.launch();
    const client = await connect(info);
    await expect(client.execute('1+1')).resolves.toMatchObject({ result: '2' });
    await expect(prov.sendSignal(9)).resolves.toBe(true);
    await expect(prov.wait({ timeoutMs: 60_000 })).resolves.not.toBeNull();
    await podGone(ns, `erin-${kernelId}`);
    await prov.cleanup();
  });

  it('a launcher that fails ends the launch with GP_LAUNCHER_FAILED and its output', async () => {
    const kernelId = randomUUID();
    const failing = kernelSpec(GP_IMAGE);
    failing.argv = ['bash', '-c', 'echo "cannot reach the cluster" >&2; exit 3', '{kernel_id}'];
    const prov = provisioner(kernelId, GP_IMAGE, { kernelSpec: failing });
    await prov.preLaunch({ env: { KERNEL_USERNAME: 'frank' } });
    await expect(prov.launch()).rejects.toMatchObject({ code: 'GP_LAUNCHER_FAILED', message: expect.stringContaining('cannot reach the cluster') });
    await prov.cleanup();
  });
});

describe('restart in automatic mode', () => {
  it('kill({ restart: true }) keeps the namespace; the next launch reuses it with a new pod', async () => {
    const kernelId = randomUUID();
    const prov = provisioner(kernelId, GP_IMAGE, { hostEnv: { GP_SHARED_NAMESPACE: 'false' } });
    const first = await prov.preLaunch({ env: { KERNEL_USERNAME: 'grace' } });
    const info1 = await prov.launch();
    const uid1 = (await cluster.core.readNamespacedPod({ namespace: first.namespace, name: first.podName })).metadata?.uid;
    await prov.kill({ restart: true });
    await expect(cluster.core.readNamespace({ name: first.namespace })).resolves.toBeTruthy();

    const second = await prov.preLaunch({ env: { KERNEL_USERNAME: 'grace' } });
    expect(second).toMatchObject({ namespace: first.namespace, podName: first.podName, restart: true });
    const types: string[] = [];
    prov.onProgress((e) => types.push(e.type));
    const info2 = await prov.launch();
    expect(types).not.toContain('namespace-created');
    expect(info2.key).not.toBe(info1.key);
    const uid2 = (await cluster.core.readNamespacedPod({ namespace: first.namespace, name: first.podName })).metadata?.uid;
    expect(uid2).not.toBe(uid1);
    const client = await connect(info2);
    await expect(client.execute('6*7')).resolves.toMatchObject({ result: '42' });
    await prov.shutdownRequested();
    await prov.cleanup();
    await cluster.waitFor(
      async () => {
        try {
          await cluster.core.readNamespace({ name: first.namespace });
          return false;
        } catch (e) {
          return (e as { code?: number }).code === 404;
        }
      },
      { timeoutMs: 120_000, description: `namespace ${first.namespace} to be deleted` },
    );
  });
});

describe('R kernel', () => {
  it('launches IRkernel through gp\'s R launcher, runs code, and shuts down', async () => {
    const kernelId = randomUUID();
    const prov = provisioner(kernelId, GP_IMAGE, { kernelSpec: kernelSpec(GP_IMAGE, rSpec) });
    const prepared = await prov.preLaunch({ env: { KERNEL_USERNAME: 'heidi' } });
    expect(prepared.env.KERNEL_LANGUAGE).toBe('r');
    const info = await prov.launch();
    const client = await connect(info);
    await expect(client.execute('1+1')).resolves.toMatchObject({ status: 'ok', result: '[1] 2' });
    await prov.shutdownRequested();
    await prov.cleanup();
    await podGone(ns, `heidi-${kernelId}`);
  });
});

describe('the connection information must come from the kernel pod', () => {
  // A listener on the host's external address: the pod (a local process with pod IP 127.0.0.1) connects
  // from that address, so its payload does not come from the pod IP.
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  let other: ResponseListener;

  beforeAll(async () => {
    if (!external) throw new Error('This test needs a non-loopback IPv4 address on the machine.');
    other = await ResponseListener.start({ ip: external, port: 0 });
  });
  afterAll(async () => {
    await other?.close();
  });

  it('a payload from another address than the pod IP fails the launch (GP_RESPONSE_SOURCE_MISMATCH) and removes the pod', async () => {
    const kernelId = randomUUID();
    const prov = provisioner(kernelId, GP_IMAGE, { responseListener: other });
    await prov.preLaunch({ env: { KERNEL_USERNAME: 'ivan' } });
    await expect(prov.launch()).rejects.toMatchObject({ code: 'GP_RESPONSE_SOURCE_MISMATCH', details: { responseFrom: external, podIP: '127.0.0.1' } });
    await podGone(ns, `ivan-${kernelId}`);
    await prov.cleanup();
  });

  it('verifyResponseSource: false accepts it (networks that rewrite source addresses)', async () => {
    const kernelId = randomUUID();
    const prov = provisioner(kernelId, GP_IMAGE, { responseListener: other, verifyResponseSource: false });
    await prov.preLaunch({ env: { KERNEL_USERNAME: 'judy' } });
    const info = await prov.launch();
    expect(info.ip).toBe('127.0.0.1');
    expect(info.response_from).toBe(external);
    await prov.shutdownRequested();
    await prov.cleanup();
    await podGone(ns, `judy-${kernelId}`);
  });
});

describe('SparkOperatorProvisioner (the test acts as the Spark Operator)', () => {
  const SA = '/apis/sparkoperator.k8s.io/v1beta2';
  interface App {
    metadata: { name: string; uid: string; resourceVersion?: string };
    spec: { driver: { env?: { name: string; value?: string }[] } };
    status?: Record<string, unknown>;
  }

  function sparkProvisioner(kernelId: string): SparkOperatorProvisioner {
    const p = new SparkOperatorProvisioner({
      kernelId,
      kernelSpec: kernelSpec(GP_IMAGE, sparkSpec),
      kubeConfig: cluster.kc,
      responseListener: listener,
      hostEnv: { GP_NAMESPACE: ns },
    });
    kernelIds.add(kernelId);
    provisioners.push(p);
    return p;
  }

  async function submitted(name: string, namespace = ns): Promise<App> {
    const client = createKubeClient(cluster.kc);
    return cluster.waitFor(() => client.request<App>({ method: 'GET', path: `${SA}/namespaces/${namespace}/sparkapplications/${name}` }).catch(() => undefined), {
      timeoutMs: 60_000,
      description: `SparkApplication ${name}`,
    });
  }

  async function setStatus(app: App, status: Record<string, unknown>, namespace = ns): Promise<void> {
    const client = createKubeClient(cluster.kc);
    const current = await client.request<App>({ method: 'GET', path: `${SA}/namespaces/${namespace}/sparkapplications/${app.metadata.name}` });
    await client.request({ method: 'PUT', path: `${SA}/namespaces/${namespace}/sparkapplications/${app.metadata.name}/status`, body: { ...current, status } });
  }

  /** The operator's part: a driver pod with the application's driver env, owned by the application; then RUNNING. */
  async function runDriver(app: App, kernelId: string, namespace = ns): Promise<string> {
    const driver = `${app.metadata.name}-driver`;
    await cluster.core.createNamespacedPod({
      namespace,
      body: {
        metadata: {
          name: driver,
          labels: { kernel_id: kernelId, 'spark-role': 'driver', component: 'kernel' },
          ownerReferences: [{ apiVersion: 'sparkoperator.k8s.io/v1beta2', kind: 'SparkApplication', name: app.metadata.name, uid: app.metadata.uid, controller: true }],
        },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          containers: [{ name: 'spark-kubernetes-driver', image: GP_IMAGE, env: app.spec.driver.env ?? [] }],
        },
      },
    });
    await setStatus(app, { applicationState: { state: 'RUNNING' }, driverInfo: { podName: driver } }, namespace);
    return driver;
  }

  it('follows the SparkApplication to its driver pod, runs code, persists the resource, re-attaches and deletes it', async () => {
    const kernelId = randomUUID();
    const prov = sparkProvisioner(kernelId);
    const prepared = await prov.preLaunch({ env: { KERNEL_USERNAME: 'kim' } });
    const launching = prov.launch();
    launching.catch(() => undefined);
    const app = await submitted(prepared.podName);
    const driver = await runDriver(app, kernelId);
    const info = await launching;
    const client = await connect(info);
    await expect(client.execute('1+1')).resolves.toMatchObject({ result: '2' });

    const saved = JSON.parse(JSON.stringify(prov.getProvisionerInfo()));
    expect(saved.gp).toMatchObject({ provisioner: 'spark-operator', custom_resource: { group: 'sparkoperator.k8s.io', version: 'v1beta2', plural: 'sparkapplications', name: app.metadata.name } });
    prov.detach();
    const again = sparkProvisioner(kernelId);
    await expect(again.loadProvisionerInfo(saved)).resolves.toBe(true);
    expect(again.poll()).toBeNull();
    await expect(again.sendSignal(0)).resolves.toBe(true);
    await expect(client.execute('2+3')).resolves.toMatchObject({ result: '5' });
    await again.shutdownRequested();
    await again.cleanup();
    await cluster.waitFor(
      () => createKubeClient(cluster.kc).request({ method: 'GET', path: `${SA}/namespaces/${ns}/sparkapplications/${app.metadata.name}` }).then(() => false, (e: { statusCode?: number }) => e.statusCode === 404),
      { timeoutMs: 60_000, description: 'the SparkApplication to be deleted' },
    );
    await podGone(ns, driver);
  });

  it('restarts in automatic mode: kill({ restart: true }) keeps the namespace, the next SparkApplication reuses it', async () => {
    const kernelId = randomUUID();
    const prov = new SparkOperatorProvisioner({
      kernelId,
      kernelSpec: kernelSpec(GP_IMAGE, sparkSpec),
      kubeConfig: cluster.kc,
      responseListener: listener,
      hostEnv: { GP_SHARED_NAMESPACE: 'false' },
    });
    kernelIds.add(kernelId);
    provisioners.push(prov);
    const first = await prov.preLaunch({ env: { KERNEL_USERNAME: 'max' } });
    expect(first.namespaceMode).toBe('auto');
    const launching1 = prov.launch();
    launching1.catch(() => undefined);
    const app1 = await submitted(first.podName, first.namespace);
    const driver = await runDriver(app1, kernelId, first.namespace);
    await launching1;
    const nsUid = (await cluster.core.readNamespace({ name: first.namespace })).metadata?.uid;

    await prov.kill({ restart: true });
    await expect(cluster.core.readNamespace({ name: first.namespace })).resolves.toMatchObject({ metadata: { uid: nsUid } });
    await podGone(first.namespace, driver); // the garbage collector removes the old driver with its application

    const second = await prov.preLaunch({ env: { KERNEL_USERNAME: 'max' } });
    expect(second).toMatchObject({ namespace: first.namespace, podName: first.podName, restart: true });
    const types: string[] = [];
    prov.onProgress((e) => types.push(e.type));
    const launching2 = prov.launch();
    launching2.catch(() => undefined);
    const app2 = await submitted(second.podName, second.namespace);
    expect(app2.metadata.uid).not.toBe(app1.metadata.uid);
    await runDriver(app2, kernelId, second.namespace);
    const info2 = await launching2;
    expect(types).not.toContain('namespace-created');
    const client = await connect(info2);
    await expect(client.execute('6*7')).resolves.toMatchObject({ result: '42' });

    await prov.shutdownRequested();
    await prov.cleanup();
    await cluster.waitFor(
      () => cluster.core.readNamespace({ name: first.namespace }).then(() => false, (e: { code?: number }) => e.code === 404),
      { timeoutMs: 120_000, description: `namespace ${first.namespace} to be deleted` },
    );
  });

  it('a FAILED SparkApplication ends the launch with GP_SPARK_APPLICATION_FAILED and the operator\'s message, and is deleted', async () => {
    const kernelId = randomUUID();
    const prov = sparkProvisioner(kernelId);
    const prepared = await prov.preLaunch({ env: { KERNEL_USERNAME: 'lee' } });
    const launching = prov.launch();
    launching.catch(() => undefined);
    const app = await submitted(prepared.podName);
    await setStatus(app, { applicationState: { state: 'SUBMISSION_FAILED', errorMessage: 'driver pod failed: quota exceeded' }, driverInfo: {} });
    await expect(launching).rejects.toMatchObject({ code: 'GP_SPARK_APPLICATION_FAILED', message: expect.stringContaining('quota exceeded') });
    await cluster.waitFor(
      () => createKubeClient(cluster.kc).request({ method: 'GET', path: `${SA}/namespaces/${ns}/sparkapplications/${app.metadata.name}` }).then(() => false, (e: { statusCode?: number }) => e.statusCode === 404),
      { timeoutMs: 60_000, description: 'the SparkApplication to be deleted' },
    );
    await prov.cleanup();
  });
});

describe('afterwards', () => {
  it('nothing is left behind: no kernel pods in the shared namespace, no namespaces of these kernels', async () => {
    const mine = `kernel_id in (${[...kernelIds].join(',')})`;
    await cluster.waitFor(
      async () => {
        const pods = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: 'component=kernel' });
        const namespaces = await cluster.core.listNamespace({ labelSelector: mine });
        const anyPods = await cluster.core.listPodForAllNamespaces({ labelSelector: mine });
        return pods.items.length === 0 && namespaces.items.length === 0 && anyPods.items.length === 0;
      },
      { timeoutMs: 120_000, description: 'every kernel pod and kernel namespace to be deleted' },
    );
  });
});
