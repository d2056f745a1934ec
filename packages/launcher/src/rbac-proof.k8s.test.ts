/**
 * The proof of issue #5 on the testkit's real control plane (RBAC enforced): with ONLY the generated manifests
 * applied, the generated application service account runs full kernel life cycles in every namespace mode; each
 * (rule, verb) that `grantedVerbs` lists is needed, because removing it makes the life-cycle step it is annotated
 * with fail with the API server's 403; and the kernel role lets a kernel's service account do what the spec says
 * kernels may do in their namespace, and nothing cluster-wide or elsewhere.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResponseListener, type KernelConnectionInfo } from '@gp/core';
import { JupyterKernelClient, repoRoot, testPythonBin, useCluster } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPLICATION_RULES, grantedVerbs, TEMPLATE_RESOURCES, withoutRule, withoutVerb, type RbacObject, type RbacOptions } from '@gp/rbac';
import {
  deleteKernelResources,
  KubernetesApiError,
  KubernetesProvisioner,
  kubeConfigTransport,
  launchCustomResource,
  launchKernelResources,
  readHostSettings,
  SparkOperatorProvisioner,
  WatchHub,
  type KernelResourcesHandle,
  type KernelSpecLike,
  type KubernetesProvisionerBase,
  type LaunchRequest,
  type ProvisionerInfo,
} from './index.js';
import { COMPANIONS_TEMPLATE } from './test-support/k8s.js';
import { allowed, expectForbidden, RbacProof, type Identity } from './test-support/rbac-proof.js';

/** gp's kernel image on the process node: the repository's bootstrap-kernel.sh with the venv's ipykernel. */
const KERNEL_IMAGE = 'gp-test/rbac-kernel-py:1';
/** Never registered: such pods stay Pending. Steps that do not need a running kernel use it. */
const IDLE_IMAGE = 'gp-test/rbac-idle-never-pulled:1';
const PUBLIC_KEY = 'MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDabc+def/ghi==';
const SA_API = '/apis/sparkoperator.k8s.io/v1beta2';

const cluster = useCluster();
const proof = new RbacProof(cluster);
const admin = proof.admin;
const suffix = randomUUID().slice(0, 6);
const dir = mkdtempSync(join(tmpdir(), 'gp-rbac-proof-'));
const kernelIds = new Set<string>();
const clients: JupyterKernelClient[] = [];
const provisioners: KubernetesProvisionerBase[] = [];
let listener: ResponseListener;
let pythonSpec: KernelSpecLike;
let sparkSpec: KernelSpecLike;
let sparkScripts: string;
/** Namespaces, one per mode, reused by the life cycles and the minimality cases of that mode. */
let sharedNs: string;
let sparkNs: string;
let byoAppNs: string;
let byoTeamNs: string;
let autoAppNs: string;
/** Provisioner info saved by the life cycles, for the re-attach steps. */
let savedShared: ProvisionerInfo | undefined;
let savedSpark: ProvisionerInfo | undefined;

beforeAll(async () => {
  cluster.registerImage(KERNEL_IMAGE, {
    command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
    env: { PATH: `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`, PYTHONDONTWRITEBYTECODE: '1' },
  });
  // The kernelspecs as an operator installs them, with the built CLI.
  const cli = join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js');
  const prefix = join(dir, 'prefix');
  execFileSync(process.execPath, [cli, 'install', '--prefix', prefix, '--image-name', KERNEL_IMAGE], { stdio: 'pipe' });
  execFileSync(process.execPath, [cli, 'install', '--prefix', prefix, '--crd', '--spark', '--image-name', KERNEL_IMAGE], { stdio: 'pipe' });
  const kernels = join(prefix, 'share', 'jupyter', 'kernels');
  pythonSpec = withConfig(JSON.parse(readFileSync(join(kernels, 'k8s_python', 'kernel.json'), 'utf8')) as KernelSpecLike);
  sparkSpec = withConfig(JSON.parse(readFileSync(join(kernels, 'k8s_python_spark_operator', 'kernel.json'), 'utf8')) as KernelSpecLike);
  sparkScripts = join(kernels, 'k8s_python_spark_operator', 'scripts');
  listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
  sharedNs = await cluster.createNamespace('rbac-shared');
  sparkNs = await cluster.createNamespace('rbac-spark');
  byoAppNs = await cluster.createNamespace('rbac-byo-app');
  byoTeamNs = await cluster.createNamespace('rbac-byo-team');
  autoAppNs = await cluster.createNamespace('rbac-auto-app');
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of provisioners) await p.cleanup().catch(() => undefined);
  await listener?.close();
  await proof.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** Long enough that only a hang reaches it: launches succeed, or fail with their own error. */
function withConfig(spec: KernelSpecLike): KernelSpecLike {
  const provisioner = spec.metadata?.kernel_provisioner;
  if (!provisioner) throw new Error('the installed kernelspec has no kernel_provisioner');
  provisioner.config = { ...provisioner.config, image_name: KERNEL_IMAGE, launch_timeout: 110 };
  return spec;
}

function track<P extends KubernetesProvisionerBase>(p: P, kernelId: string): P {
  provisioners.push(p);
  kernelIds.add(kernelId);
  return p;
}

async function connect(info: KernelConnectionInfo): Promise<JupyterKernelClient> {
  const client = await JupyterKernelClient.connect(info, { timeoutMs: 60_000 });
  clients.push(client);
  return client;
}

/** Runs `time.sleep(60)`, interrupts it through the provisioner once it runs, and expects a KeyboardInterrupt. */
async function expectInterrupt(client: JupyterKernelClient, interrupt: () => Promise<boolean>): Promise<void> {
  const { sleeping, result } = client.startSleepingCell();
  await sleeping;
  await expect(interrupt()).resolves.toBe(true);
  expect((await result).error?.ename).toBe('KeyboardInterrupt');
}

async function isGone(path: string): Promise<boolean> {
  return admin.request({ method: 'GET', path }).then(
    () => false,
    (e: { statusCode?: number }) => e.statusCode === 404,
  );
}

/** A namespace the launcher deleted (or never created): gone, or on its way (deletionTimestamp set). */
async function namespaceGoneOrTerminating(name: string): Promise<boolean> {
  return admin.request<{ metadata: { deletionTimestamp?: string } }>({ method: 'GET', path: `/api/v1/namespaces/${name}` }).then(
    (ns) => ns.metadata.deletionTimestamp !== undefined,
    (e: { statusCode?: number }) => e.statusCode === 404,
  );
}

async function kernelPods(kernelId: string): Promise<number> {
  const list = await admin.request<{ items: unknown[] }>({ method: 'GET', path: '/api/v1/pods', query: { labelSelector: `kernel_id=${kernelId}` } });
  return list.items.length;
}

/** Nothing of the kernel is left: no pod anywhere, and in automatic mode no namespace. */
async function expectNothingLeft(kernelId: string, automaticNamespace?: string): Promise<void> {
  await cluster.waitFor(async () => (await kernelPods(kernelId)) === 0 && (!automaticNamespace || (await isGone(`/api/v1/namespaces/${automaticNamespace}`))), {
    timeoutMs: 120_000,
    description: `every resource of kernel ${kernelId} to be deleted`,
  });
}

interface LifeCycle {
  kernelId: string;
  namespace: string;
  saved: ProvisionerInfo;
}

/**
 * launch → ready (connection info, a real execute) → interrupt → re-attach from the saved info (the host
 * restarted) → terminate (shutdown request, then deletion) → cleanup, all as `host`; then nothing may be left.
 * `whileRunning` runs once the kernel is ready.
 */
async function fullLifeCycle(
  host: Identity,
  hostEnv: Record<string, string>,
  requestEnv: Record<string, string>,
  whileRunning: (namespace: string, podName: string) => Promise<void> = async () => undefined,
): Promise<LifeCycle> {
  const kernelId = randomUUID();
  const options = { kernelId, kernelSpec: pythonSpec, kubeConfig: host.kc, responseListener: listener, hostEnv };
  const prov = track(new KubernetesProvisioner(options), kernelId);
  const prepared = await prov.preLaunch({ env: requestEnv });
  const info = await prov.launch();
  expect(info.ip).toBe('127.0.0.1');
  const client = await connect(info);
  await expect(client.execute('1+1')).resolves.toMatchObject({ status: 'ok', result: '2' });
  await expectInterrupt(client, () => prov.interrupt());
  await whileRunning(prepared.namespace, prepared.podName);

  const saved = JSON.parse(JSON.stringify(prov.getProvisionerInfo())) as ProvisionerInfo;
  prov.detach();
  const again = track(new KubernetesProvisioner(options), kernelId);
  await expect(again.loadProvisionerInfo(saved)).resolves.toBe(true);
  await expect(client.execute('6*7')).resolves.toMatchObject({ result: '42' });

  await again.shutdownRequested();
  await expect(again.wait({ timeoutMs: 60_000 })).resolves.not.toBeNull();
  await again.cleanup();
  await expectNothingLeft(kernelId, prepared.namespaceMode === 'auto' ? prepared.namespace : undefined);
  return { kernelId, namespace: prepared.namespace, saved };
}

describe('full kernel life cycles with only the generated manifests applied', () => {
  it('shared namespace (Role + RoleBinding in the application namespace), applied from the built `k8s-spec rbac -o json`', async () => {
    const cli = join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js');
    const printed = execFileSync(process.execPath, [cli, 'rbac', '--app-name', `rbac-shared-${suffix}`, '--namespace', sharedNs, '--modes', 'shared', '-o', 'json']);
    const list = JSON.parse(printed.toString()) as { kind: string; items: RbacObject[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((o) => o.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding']);
    const host = await proof.hostFrom(list.items);
    const run = await fullLifeCycle(host, { GP_NAMESPACE: sharedNs }, { KERNEL_USERNAME: 'alice' });
    expect(run.namespace).toBe(sharedNs);
    savedShared = run.saved;
  });

  it('bring-your-own namespace (ClusterRole bound in the listed namespace; kernel service account and binding there)', async () => {
    const host = await proof.host({
      appName: `rbac-byo-${suffix}`,
      namespace: byoAppNs,
      modes: ['byo'],
      byoNamespaces: [byoTeamNs],
      kernelServiceAccount: 'kernel',
      kernelClusterRole: `rbac-byo-kernel-${suffix}`,
    });
    const run = await fullLifeCycle(
      host,
      { GP_NAMESPACE: byoAppNs, GP_SHARED_NAMESPACE: 'false' },
      { KERNEL_USERNAME: 'bob', KERNEL_NAMESPACE: byoTeamNs, KERNEL_SERVICE_ACCOUNT_NAME: 'kernel' },
      async (namespace, podName) => {
        const pod = await admin.request<{ spec: { serviceAccountName: string } }>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/pods/${podName}` });
        expect(pod.spec.serviceAccountName).toBe('kernel');
      },
    );
    expect(run.namespace).toBe(byoTeamNs);
    expect(await isGone(`/api/v1/namespaces/${byoTeamNs}`)).toBe(false); // the team's namespace stays
  });

  it('bring-your-own namespace, any namespace (ClusterRole + ClusterRoleBinding; the kernel runs as the namespace\'s \`default\`)', async () => {
    const team = await cluster.createNamespace('rbac-byo-any');
    const host = await proof.host({ appName: `rbac-byo-any-${suffix}`, namespace: byoAppNs, modes: ['byo'] });
    const run = await fullLifeCycle(host, { GP_NAMESPACE: byoAppNs, GP_SHARED_NAMESPACE: 'false' }, { KERNEL_USERNAME: 'erin', KERNEL_NAMESPACE: team, KERNEL_SERVICE_ACCOUNT_NAME: 'default' });
    expect(run.namespace).toBe(team);
  });

  it('shared and automatic together (one ClusterRole): a kernel in the application namespace, then one in its own', async () => {
    const kernelRole = `rbac-both-kernel-${suffix}`;
    const appNs = await cluster.createNamespace('rbac-both');
    const host = await proof.host({ appName: `rbac-both-${suffix}`, namespace: appNs, modes: ['shared', 'auto'], kernelClusterRole: kernelRole });
    const shared = await fullLifeCycle(host, { GP_NAMESPACE: appNs }, { KERNEL_USERNAME: 'frank' });
    expect(shared.namespace).toBe(appNs);
    const own = await fullLifeCycle(host, { GP_NAMESPACE: appNs, GP_SHARED_NAMESPACE: 'false', GP_KERNEL_CLUSTER_ROLE: kernelRole }, { KERNEL_USERNAME: 'frank' });
    expect(own.namespace).toMatch(/^frank-/);
  });

  it('automatic namespace (ClusterRole + ClusterRoleBinding, `bind` on the kernel role only): namespace, service account and RoleBinding created, all deleted', async () => {
    const kernelRole = `rbac-auto-kernel-${suffix}`;
    const host = await proof.host({ appName: `rbac-auto-${suffix}`, namespace: autoAppNs, modes: ['auto'], kernelClusterRole: kernelRole });
    const run = await fullLifeCycle(
      host,
      { GP_NAMESPACE: autoAppNs, GP_SHARED_NAMESPACE: 'false', GP_KERNEL_CLUSTER_ROLE: kernelRole },
      { KERNEL_USERNAME: 'carol' },
      async (namespace, podName) => {
        expect(namespace).not.toBe(autoAppNs);
        const binding = await admin.request<{ roleRef: { name: string } }>({
          method: 'GET',
          path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings/${kernelRole}-binding`,
        });
        expect(binding.roleRef.name).toBe(kernelRole);
        // The kernel's own service account got the kernel role in its namespace, and only there.
        const pod = await admin.request<{ spec: { serviceAccountName: string } }>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/pods/${podName}` });
        const kernel = await proof.serviceAccount(namespace, pod.spec.serviceAccountName);
        await cluster.waitFor(() => allowed(kernel.client, { verb: 'list', resource: 'pods', namespace }), { description: 'the kernel role binding to be seen' });
        expect(await allowed(kernel.client, { verb: 'list', resource: 'pods', namespace: autoAppNs })).toBe(false);
        expect(await allowed(kernel.client, { verb: 'list', resource: 'pods' })).toBe(false);
      },
    );
    expect(run.namespace).toMatch(/^carol-/);
  });

  it('Spark Operator (SparkApplication rules; the test acts as the operator)', async () => {
    const host = await proof.host({ appName: `rbac-spark-${suffix}`, namespace: sparkNs, modes: ['shared'], sparkOperator: true });
    const kernelId = randomUUID();
    const options = { kernelId, kernelSpec: sparkSpec, kubeConfig: host.kc, responseListener: listener, hostEnv: { GP_NAMESPACE: sparkNs } };
    const prov = track(new SparkOperatorProvisioner(options), kernelId);
    const prepared = await prov.preLaunch({ env: { KERNEL_USERNAME: 'dave' } });
    const launching = prov.launch();
    launching.catch(() => undefined);
    const appPath = `${SA_API}/namespaces/${sparkNs}/sparkapplications/${prepared.podName}`;
    const app = await cluster.waitFor(() => admin.request<SparkApp>({ method: 'GET', path: appPath }).catch(() => undefined), {
      timeoutMs: 60_000,
      description: 'the SparkApplication',
    });
    await actAsOperator(app, kernelId);
    const client = await connect(await launching);
    await expect(client.execute('1+1')).resolves.toMatchObject({ status: 'ok', result: '2' });
    await expectInterrupt(client, () => prov.interrupt());

    savedSpark = JSON.parse(JSON.stringify(prov.getProvisionerInfo())) as ProvisionerInfo;
    prov.detach();
    const again = track(new SparkOperatorProvisioner(options), kernelId);
    await expect(again.loadProvisionerInfo(savedSpark)).resolves.toBe(true);
    await again.shutdownRequested();
    await again.cleanup();
    await cluster.waitFor(() => isGone(appPath), { timeoutMs: 60_000, description: 'the SparkApplication to be deleted' });
    await expectNothingLeft(kernelId);
  });
});

interface SparkApp {
  metadata: { name: string; uid: string };
  spec: { driver: { env?: { name: string; value?: string }[] } };
}

/** The Spark Operator's part: a driver pod owned by the application, with its driver env; status RUNNING. */
async function actAsOperator(app: SparkApp, kernelId: string): Promise<void> {
  const driver = `${app.metadata.name}-driver`;
  await admin.request({
    method: 'POST',
    path: `/api/v1/namespaces/${sparkNs}/pods`,
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: driver,
        labels: { kernel_id: kernelId, 'spark-role': 'driver', component: 'kernel' },
        ownerReferences: [{ apiVersion: 'sparkoperator.k8s.io/v1beta2', kind: 'SparkApplication', name: app.metadata.name, uid: app.metadata.uid, controller: true }],
      },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        containers: [{ name: 'spark-kubernetes-driver', image: KERNEL_IMAGE, env: app.spec.driver.env ?? [] }],
      },
    },
  });
  const path = `${SA_API}/namespaces/${sparkNs}/sparkapplications/${app.metadata.name}`;
  const current = await admin.request<Record<string, unknown>>({ method: 'GET', path });
  await admin.request({ method: 'PUT', path: `${path}/status`, body: { ...current, status: { applicationState: { state: 'RUNNING' }, driverInfo: { podName: driver } } } });
}

// ---------------------------------------------------------------------------------------------------------
// Minimality: every granted verb, removed, makes its step fail with 403.

type Mode = 'shared' | 'spark' | 'auto';

/** The options each mode's minimality identities are generated with (plus appName/namespace/kernel role). */
const MODE_OPTIONS: Record<Mode, RbacOptions> = {
  shared: { modes: ['shared'], templateResources: [...TEMPLATE_RESOURCES] },
  spark: { modes: ['shared'], sparkOperator: true },
  auto: { modes: ['auto'] },
};

function modeNamespace(mode: Mode): string {
  return mode === 'shared' ? sharedNs : mode === 'spark' ? sparkNs : autoAppNs;
}

interface StepContext {
  host: Identity;
  namespace: string;
  kernelRole: string;
}

type StepName = 'launch' | 'ready' | 're-attach' | 'terminate' | 'restart';

interface Case {
  mode: Mode;
  step: StepName;
  /** What the 403 must be about (default: `cannot <verb> resource "<resource>"`). */
  refused?: RegExp;
}

/** For each (rule id, verb) the mode it is proven in and the step that needs it (the table's annotation). */
const CASES: Record<string, Case> = {
  'pods/get': { mode: 'shared', step: 're-attach' },
  'pods/list': { mode: 'shared', step: 'ready' },
  'pods/watch': { mode: 'shared', step: 'ready' },
  'pods/create': { mode: 'shared', step: 'launch' },
  'pods/delete': { mode: 'shared', step: 'terminate' },
  'events/list': { mode: 'shared', step: 'ready' },
  'events/watch': { mode: 'shared', step: 'ready' },
  'secrets/create': { mode: 'shared', step: 'launch' },
  'persistentvolumeclaims/create': { mode: 'shared', step: 'launch' },
  'services/create': { mode: 'shared', step: 'launch' },
  'configmaps/create': { mode: 'shared', step: 'launch' },
  'sparkapplications/get': { mode: 'spark', step: 're-attach' },
  'sparkapplications/list': { mode: 'spark', step: 'ready' },
  'sparkapplications/watch': { mode: 'spark', step: 'ready' },
  'sparkapplications/create': { mode: 'spark', step: 'launch' },
  'sparkapplications/delete': { mode: 'spark', step: 'terminate' },
  'namespaces/get': { mode: 'auto', step: 'restart' },
  'namespaces/create': { mode: 'auto', step: 'launch' },
  'namespaces/delete': { mode: 'auto', step: 'terminate' },
  'serviceaccounts/create': { mode: 'auto', step: 'launch' },
  'rolebindings/create': { mode: 'auto', step: 'launch' },
  // RBAC escalation prevention: without `bind` the creator must already hold every permission of the kernel role.
  'bind-kernel-role/bind': { mode: 'auto', step: 'launch', refused: /attempting to grant RBAC permissions not currently held/ },
};

/** A launch request for steps that need no running kernel (the pod never starts). */
function idleRequest(ctx: StepContext, mode: Mode): LaunchRequest {
  const kernelId = randomUUID();
  kernelIds.add(kernelId);
  const settings =
    mode === 'auto'
      ? readHostSettings({ GP_NAMESPACE: ctx.namespace, GP_SHARED_NAMESPACE: 'false', GP_KERNEL_CLUSTER_ROLE: ctx.kernelRole })
      : readHostSettings({ GP_NAMESPACE: ctx.namespace });
  return { kernelId, responseAddress: '127.0.0.1:9', publicKey: PUBLIC_KEY, env: { KERNEL_USERNAME: 'mini', KERNEL_LANGUAGE: 'python', KERNEL_IMAGE: IDLE_IMAGE }, settings };
}

async function deleteQuietly(path: string): Promise<void> {
  await admin.request({ method: 'DELETE', path, query: { gracePeriodSeconds: 0 } }).catch(() => undefined);
}

/** Only the launch: create the kernel's resources. A refused launch must leave nothing behind. */
async function launchStep(ctx: StepContext, mode: Mode): Promise<void> {
  const request = idleRequest(ctx, mode);
  const options = { kubeConfig: ctx.host.kc };
  let launched: { handle: KernelResourcesHandle } | undefined;
  try {
    launched =
      mode === 'spark'
        ? await launchCustomResource(request, { ...options, templateDir: sparkScripts })
        : await launchKernelResources(request, mode === 'shared' ? { ...options, template: COMPANIONS_TEMPLATE } : options);
  } catch (error) {
    expect(await kernelPods(request.kernelId)).toBe(0);
    if (mode === 'auto') expect(await namespaceGoneOrTerminating(`mini-${request.kernelId}`)).toBe(true);
    throw error;
  } finally {
    if (launched) await deleteKernelResources(launched.handle, { kubeConfig: cluster.kc });
  }
}

/**
 * Only the ready step's shared watch of `kind` in the namespace: LIST, then WATCH. It succeeds when an object
 * created after the LIST reaches the host through the WATCH; a refused LIST or WATCH reports the 403 first.
 */
async function readyStep(ctx: StepContext, kind: 'pods' | 'events' | 'sparkapplications'): Promise<void> {
  const hub = new WatchHub(kubeConfigTransport(ctx.host.kc));
  const spec = kind === 'pods' ? hub.podSpec(ctx.namespace) : kind === 'events' ? hub.eventSpec(ctx.namespace) : hub.sparkApplicationSpec(ctx.namespace);
  const probeId = randomUUID();
  kernelIds.add(probeId);
  let probe: Promise<() => Promise<void>> | undefined;
  const lease = hub.acquire(spec);
  try {
    await new Promise<void>((resolve, reject) => {
      const isProbe = (o: { metadata?: { labels?: Record<string, string> }; involvedObject?: { name?: string } }) =>
        o.metadata?.labels?.kernel_id === probeId || o.involvedObject?.name === `probe-${probeId}`;
      const off = lease.watch.subscribe((n) => {
        if (n.type === 'error') {
          off();
          reject(n.error);
        } else if (n.type === 'synced' && !probe) {
          probe = createProbe(kind, ctx.namespace, probeId);
          probe.catch(reject);
        } else if (n.type === 'added' && isProbe(n.object as Parameters<typeof isProbe>[0])) {
          off();
          resolve();
        }
      });
    });
  } finally {
    lease.release();
    const remove = await probe?.catch(() => undefined);
    await remove?.();
  }
}

/** Creates (as admin) an object the watch of `kind` must deliver; resolves with its removal. */
async function createProbe(kind: 'pods' | 'events' | 'sparkapplications', namespace: string, probeId: string): Promise<() => Promise<void>> {
  if (kind === 'pods') {
    const name = `probe-${probeId}`;
    await admin.request({
      method: 'POST',
      path: `/api/v1/namespaces/${namespace}/pods`,
      body: { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { kernel_id: probeId } }, spec: { containers: [{ name: 'c', image: IDLE_IMAGE }] } },
    });
    return () => deleteQuietly(`/api/v1/namespaces/${namespace}/pods/${name}`);
  }
  if (kind === 'events') {
    const now = new Date().toISOString();
    const name = `probe-${probeId}.1`;
    await admin.request({
      method: 'POST',
      path: `/api/v1/namespaces/${namespace}/events`,
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', name: `probe-${probeId}`, namespace },
        reason: 'RbacProbe',
        message: 'an event the host must see',
        type: 'Normal',
        source: { component: 'rbac-proof' },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
    return () => deleteQuietly(`/api/v1/namespaces/${namespace}/events/${name}`);
  }
  const request: LaunchRequest = {
    kernelId: probeId,
    responseAddress: '127.0.0.1:9',
    publicKey: PUBLIC_KEY,
    env: { KERNEL_USERNAME: 'probe', KERNEL_LANGUAGE: 'python', KERNEL_IMAGE: IDLE_IMAGE },
    settings: readHostSettings({ GP_NAMESPACE: namespace }),
  };
  const launched = await launchCustomResource(request, { kubeConfig: cluster.kc, templateDir: sparkScripts });
  return async () => {
    await deleteKernelResources(launched.handle, { kubeConfig: cluster.kc }).catch(() => undefined);
  };
}

/** Only the re-attach: a new provisioner reads the saved info (one GET of the pod / SparkApplication). */
async function reattachStep(ctx: StepContext, mode: Mode): Promise<void> {
  const saved = mode === 'spark' ? savedSpark : savedShared;
  if (!saved) throw new Error(`the ${mode} life cycle did not run, so there is no saved provisioner info to re-attach from`);
  const options = { kernelId: saved.kernel_id, kubeConfig: ctx.host.kc, responseListener: listener, hostEnv: { GP_NAMESPACE: ctx.namespace } };
  const prov = mode === 'spark' ? new SparkOperatorProvisioner({ ...options, kernelSpec: sparkSpec }) : new KubernetesProvisioner({ ...options, kernelSpec: pythonSpec });
  try {
    // That kernel ended with its life cycle: a permitted re-attach finds it dead.
    const alive = await prov.loadProvisionerInfo(saved);
    expect(alive).toBe(false);
  } finally {
    await prov.cleanup();
  }
}

/** Launch (allowed), then only the terminate: delete the kernel's resources. */
async function terminateStep(ctx: StepContext, mode: Mode): Promise<void> {
  const request = idleRequest(ctx, mode);
  const options = { kubeConfig: ctx.host.kc };
  const launched = mode === 'spark' ? await launchCustomResource(request, { ...options, templateDir: sparkScripts }) : await launchKernelResources(request, options);
  try {
    await deleteKernelResources(launched.handle, options);
  } finally {
    await deleteKernelResources(launched.handle, { kubeConfig: cluster.kc }).catch(() => undefined);
  }
}

/** Automatic mode: launch, delete the pod but keep the namespace (as a restart does), then only the relaunch. */
async function restartStep(ctx: StepContext): Promise<void> {
  const request = idleRequest(ctx, 'auto');
  const options = { kubeConfig: ctx.host.kc };
  const first = await launchKernelResources(request, options);
  try {
    await deleteKernelResources(first.handle, { ...options, keepNamespace: true });
    await cluster.waitFor(() => isGone(`/api/v1/namespaces/${first.handle.namespace}/pods/${first.handle.podName}`), { description: 'the old kernel pod to go' });
    await launchKernelResources(request, { ...options, restart: true });
  } finally {
    await deleteKernelResources(first.handle, { kubeConfig: cluster.kc }).catch(() => undefined);
  }
}

function runStep(step: StepName, mode: Mode, ctx: StepContext, resource: string): Promise<void> {
  switch (step) {
    case 'launch':
      return launchStep(ctx, mode);
    case 'ready':
      return readyStep(ctx, resource as 'pods' | 'events' | 'sparkapplications');
    case 're-attach':
      return reattachStep(ctx, mode);
    case 'terminate':
      return terminateStep(ctx, mode);
    case 'restart':
      return restartStep(ctx);
  }
}

/** A fresh identity for `mode`, generated from `table` (every identity gets its own role names). */
async function modeHost(mode: Mode, label: string, tables: Parameters<RbacProof['host']>[1] = {}): Promise<StepContext> {
  const appName = `m-${label}-${suffix}`.replace(/[^a-z0-9-]/g, '-');
  const kernelRole = `${appName}-kernel`;
  const namespace = modeNamespace(mode);
  const host = await proof.host({ ...MODE_OPTIONS[mode], appName, namespace, kernelClusterRole: kernelRole }, tables);
  return { host, namespace, kernelRole };
}

describe('minimality: without one granted verb, the step it is annotated with fails with 403', () => {
  it('every (rule, verb) the shipped tables grant, in any mode, has a case, proven in a mode that ships it', () => {
    const everything = grantedVerbs(APPLICATION_RULES, { modes: ['shared', 'byo', 'auto'], sparkOperator: true, templateResources: [...TEMPLATE_RESOURCES] });
    expect(Object.keys(CASES).sort()).toEqual([...new Set(everything.map((g) => `${g.id}/${g.verb}`))].sort());
    for (const [key, c] of Object.entries(CASES)) {
      const granted = grantedVerbs(APPLICATION_RULES, MODE_OPTIONS[c.mode]).find((g) => `${g.id}/${g.verb}` === key);
      expect(granted, `${key} ships in mode ${c.mode}`).toBeDefined();
      // The table's annotation names the very step that is shown to fail without the verb.
      expect(granted!.step.split(':')[0], key).toBe(c.step);
    }
  });

  // The control: with every rule, each step used below succeeds in its mode.
  const controls = new Map<string, { mode: Mode; step: StepName; resource: string }>();
  for (const [key, c] of Object.entries(CASES)) {
    const resource = APPLICATION_RULES.find((r) => r.id === key.split('/')[0])?.resource ?? '';
    const name = `${c.mode}: ${c.step}${c.step === 'ready' ? ` (${resource} watch)` : ''}`;
    if (!controls.has(name)) controls.set(name, { mode: c.mode, step: c.step, resource });
  }
  const full = new Map<Mode, Promise<StepContext>>();
  for (const [name, c] of controls) {
    it(`with every rule, ${name} succeeds`, async () => {
      if (!full.has(c.mode)) full.set(c.mode, modeHost(c.mode, `full-${c.mode}`));
      await runStep(c.step, c.mode, await full.get(c.mode)!, c.resource);
    });
  }

  for (const mode of ['shared', 'spark', 'auto'] as const) {
    for (const granted of grantedVerbs(APPLICATION_RULES, MODE_OPTIONS[mode])) {
      const key = `${granted.id}/${granted.verb}`;
      const c = CASES[key];
      if (!c || c.mode !== mode) continue;
      it(`${mode}: without ${key}, ${c.step} fails with 403`, async () => {
        const ctx = await modeHost(mode, `${granted.id}-${granted.verb}`, { application: withoutVerb(APPLICATION_RULES, granted.id, granted.verb) });
        const refused = c.refused ?? new RegExp(`cannot ${granted.verb} resource "${granted.resource}"`);
        const error = await expectForbidden(() => runStep(c.step, mode, ctx, granted.resource), refused);
        expect((error.kubernetesMessage ?? error.apiMessage) ?? '').toContain(ctx.host.user);
        if (error instanceof KubernetesApiError) expect(error.code).toBe('GP_K8S_FORBIDDEN');
      });
    }
  }
});

// The launch reaches ready without events (readiness comes from the pod watch); what events/list and events/watch
// buy is the explanation of failures and the progress stream (the control above shows the host's event watch
// delivering, the cases above show it refused without them).
describe('events: the launch does not wait for them', () => {
  /** A launch through the provisioner whose image cannot be pulled: it fails fast, with the events it saw. */
  async function failedLaunch(ctx: StepContext): Promise<{ code?: string; events?: { reason?: string }[] }> {
    const kernelId = randomUUID();
    const kernelSpec = structuredClone(pythonSpec);
    kernelSpec.metadata!.kernel_provisioner!.config = { ...kernelSpec.metadata!.kernel_provisioner!.config, image_name: IDLE_IMAGE };
    const prov = track(new KubernetesProvisioner({ kernelId, kernelSpec, kubeConfig: ctx.host.kc, responseListener: listener, hostEnv: { GP_NAMESPACE: ctx.namespace } }), kernelId);
    await prov.preLaunch({ env: { KERNEL_USERNAME: 'grace' } });
    const error = await prov.launch().then(
      () => undefined,
      (e: unknown) => e as { code?: string; events?: { reason?: string }[] },
    );
    await prov.cleanup();
    expect(error, 'the launch of an image that cannot be pulled must fail').toBeDefined();
    return error!;
  }

  it('without them a failing launch still ends with its cause from the pod status, but carries no Kubernetes events', async () => {
    const ctx = await modeHost('shared', 'events-none', { application: withoutRule(APPLICATION_RULES, 'events') });
    const error = await failedLaunch(ctx);
    expect(error.code).toBe('GP_KERNEL_IMAGE_PULL_FAILED');
    expect(error.events).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The kernel role.

describe('the kernel role, as the kernel service account of a bring-your-own namespace', () => {
  let kernel: Identity;
  let ns: string;

  beforeAll(async () => {
    ns = await cluster.createNamespace('rbac-kernel');
    const appNs = await cluster.createNamespace('rbac-kernel-app');
    await proof.host({
      appName: `rbac-kr-${suffix}`,
      namespace: appNs,
      modes: ['byo'],
      byoNamespaces: [ns],
      kernelServiceAccount: 'kernel',
      kernelClusterRole: `rbac-kr-kernel-${suffix}`,
    });
    kernel = await proof.serviceAccount(ns, 'kernel');
    await cluster.waitFor(() => allowed(kernel.client, { verb: 'list', resource: 'pods', namespace: ns }), { description: 'the kernel role binding to be seen' });
  });

  it('does in its namespace what the spec lets kernels do (real calls)', async () => {
    const c = kernel.client;
    const pods = `/api/v1/namespaces/${ns}/pods`;
    await c.request({ method: 'POST', path: pods, body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'executor-1' }, spec: { containers: [{ name: 'c', image: IDLE_IMAGE }] } } });
    await expect(c.request({ method: 'GET', path: `${pods}/executor-1` })).resolves.toMatchObject({ metadata: { name: 'executor-1' } });
    await expect(c.request<{ items: unknown[] }>({ method: 'GET', path: pods })).resolves.toMatchObject({ items: [expect.anything()] });
    await c.request({ method: 'DELETE', path: `${pods}/executor-1`, query: { gracePeriodSeconds: 0 } });
    await c.request({ method: 'POST', path: `/api/v1/namespaces/${ns}/configmaps`, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'driver-conf' }, data: { a: 'b' } } });
    for (const resource of ['configmaps', 'services', 'persistentvolumeclaims']) {
      await expect(c.request({ method: 'GET', path: `/api/v1/namespaces/${ns}/${resource}` })).resolves.toMatchObject({ items: expect.any(Array) });
    }
    expect(await allowed(c, { verb: 'watch', resource: 'pods', namespace: ns })).toBe(true);
  });

  it('grants exactly the spec\'s verbs in its namespace', async () => {
    const spec: Record<string, string[]> = {
      pods: ['get', 'watch', 'list', 'create', 'delete'],
      configmaps: ['list', 'create'],
      services: ['list'],
      persistentvolumeclaims: ['list'],
    };
    const verbs = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
    for (const resource of ['pods', 'configmaps', 'services', 'persistentvolumeclaims', 'secrets', 'serviceaccounts', 'events', 'pods/exec', 'pods/log']) {
      const [name, sub] = resource.split('/');
      for (const verb of verbs) {
        const access = { verb, resource: name!, namespace: ns, ...(sub ? { subresource: sub } : {}) };
        expect(await allowed(kernel.client, access), `${verb} ${resource}`).toBe(!sub && (spec[resource] ?? []).includes(verb));
      }
    }
    for (const [group, resource] of [['rbac.authorization.k8s.io', 'rolebindings'], ['rbac.authorization.k8s.io', 'roles'], ['sparkoperator.k8s.io', 'sparkapplications']] as const) {
      expect(await allowed(kernel.client, { verb: 'create', group, resource, namespace: ns }), resource).toBe(false);
    }
  });

  it('may do nothing cluster-wide or in another namespace (real calls answer 403)', async () => {
    const c = kernel.client;
    const refused = (path: string, method: 'GET' | 'POST' = 'GET', body?: unknown) =>
      expectForbidden(() => c.request({ method, path, ...(body ? { body } : {}) }).catch((e: { statusCode: number; body: string }) => {
        const status = JSON.parse(e.body) as { reason?: string; message?: string };
        throw { statusCode: e.statusCode, reason: status.reason, kubernetesMessage: status.message };
      }), /forbidden/);
    await refused('/api/v1/pods'); // every namespace
    await refused(`/api/v1/namespaces/${sharedNs}/pods`); // another namespace
    await refused(`/api/v1/namespaces/${autoAppNs}/configmaps`);
    await refused('/api/v1/namespaces');
    await refused('/api/v1/nodes');
    await refused('/apis/rbac.authorization.k8s.io/v1/clusterroles');
    await refused('/api/v1/namespaces', 'POST', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `kernel-made-${suffix}` } });
    await refused(`/api/v1/namespaces/${ns}/secrets`);
  });
});

describe('afterwards', () => {
  it('nothing is left: no pod or namespace of any kernel of this file', async () => {
    const mine = `kernel_id in (${[...kernelIds].join(',')})`;
    await cluster.waitFor(
      async () => {
        const pods = await admin.request<{ items: unknown[] }>({ method: 'GET', path: '/api/v1/pods', query: { labelSelector: mine } });
        const namespaces = await admin.request<{ items: unknown[] }>({ method: 'GET', path: '/api/v1/namespaces', query: { labelSelector: mine } });
        return pods.items.length === 0 && namespaces.items.length === 0;
      },
      { timeoutMs: 120_000, description: 'every kernel pod and namespace to be deleted' },
    );
  });
});
