// The launcher against the real control plane from @gp/testkit: the built bundle, run as a kernelspec's argv
// would run it, with a service-account identity bound to @gp/rbac's application role, in each namespace mode.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { rbacManifests, type RbacOptions } from '@gp/rbac';
import { templateFilePath } from '@gp/templates';
import { useCluster, waitFor } from '@gp/testkit';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHostSettings } from './env.js';
import { createKubeClient, type KubeClient } from './kube.js';
import { deleteKernelResources, launchKernelResources, planKernelResources } from './launch.js';
import { launchCustomResource } from './crd.js';
import type { LaunchRequest } from './inputs.js';
import {
  COMPANIONS_TEMPLATE,
  apply,
  exists,
  getObject,
  inventory,
  kernelspecDir,
  LAUNCHER_DIR,
  runNode,
  type K8sObject,
} from './test-support/k8s.js';

const BUNDLE = join(LAUNCHER_DIR, 'dist', 'scripts', 'launch_kubernetes.mjs');
const CR_BUNDLE = join(LAUNCHER_DIR, 'dist', 'scripts', 'launch_custom_resource.mjs');
const PUBLIC_KEY = 'MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDabc+def/ghi==';
const tmp = mkdtempSync(join(tmpdir(), 'gp-launcher-k8s-'));
const suffix = randomUUID().slice(0, 6);

const cluster = useCluster();
let admin: KubeClient;
const clusterScoped: K8sObject[] = [];
let scripts: string;
let crScripts: string;

function argv(kernelId: string, extra: string[] = []): string[] {
  return ['--kernel-id', kernelId, '--port-range', '0..0', '--response-address', '10.1.2.3:8877', '--public-key', PUBLIC_KEY, '--kernel-class-name', 'ipykernel.ipkernel.IPythonKernel', ...extra];
}

const kernelEnv = (env: Record<string, string> = {}) => ({ KERNEL_USERNAME: 'alice', KERNEL_LANGUAGE: 'python', KERNEL_IMAGE: 'docker.io/elyra/kernel-py:3.2.3', ...env });

/** Applies @gp/rbac's objects for `options` and returns a kubeconfig file for its application service account. */
async function identity(options: RbacOptions & { namespace: string; serviceAccountName: string }): Promise<string> {
  const objects = rbacManifests(options) as unknown as K8sObject[];
  clusterScoped.push(...objects.filter((o) => o.metadata.namespace === undefined));
  await apply(admin, objects);
  const kc = await cluster.kubeConfigForServiceAccount(options.namespace, options.serviceAccountName);
  const file = join(tmp, `${options.namespace}-${options.serviceAccountName}.kubeconfig`);
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  return file;
}

async function gone(apiVersion: string, kind: string, name: string, namespace?: string): Promise<void> {
  await waitFor(async () => !(await exists(admin, apiVersion, kind, name, namespace)), { timeoutMs: 90_000, description: `${kind} ${name} to be deleted` });
}

function yamlDocs(text: string): K8sObject[] {
  return parseAllDocuments(text).map((d) => d.toJS() as K8sObject);
}

/** Every field the launcher sent is on the server object (which only adds defaults and status). */
function expectSubset(expected: unknown, actual: unknown, path = ''): void {
  if (expected && typeof expected === 'object' && !Array.isArray(expected)) {
    for (const [k, v] of Object.entries(expected)) {
      if (path.endsWith('ownerReferences[0]') && k === 'uid') continue; // dry-run placeholder
      expectSubset(v, (actual as Record<string, unknown> | undefined)?.[k], `${path}.${k}`);
    }
  } else if (Array.isArray(expected)) {
    expect(Array.isArray(actual), path).toBe(true);
    expect((actual as unknown[]).length, path).toBe(expected.length);
    expected.forEach((v, i) => expectSubset(v, (actual as unknown[])[i], `${path}[${i}]`));
  } else {
    expect(actual, path).toEqual(expected);
  }
}

beforeAll(async () => {
  execFileSync('pnpm', ['exec', 'tsup'], { cwd: LAUNCHER_DIR, stdio: 'pipe' });
  admin = createKubeClient(cluster.kc);
  scripts = kernelspecDir('k8s_python', { bundle: BUNDLE, template: ['kernel-pod.yaml.j2', templateFilePath('kernel-pod.yaml.j2')] });
  crScripts = kernelspecDir('k8s_python_spark_operator', {
    bundle: CR_BUNDLE,
    template: ['sparkoperator.k8s.io-v1beta2.yaml.j2', templateFilePath('sparkoperator.k8s.io-v1beta2.yaml.j2')],
  });
});

afterAll(async () => {
  // Namespaces go with useCluster(); the cluster-scoped RBAC objects are ours to remove.
  for (const o of clusterScoped) {
    await admin.request({ method: 'DELETE', path: `/apis/${o.apiVersion}/${o.kind === 'ClusterRole' ? 'clusterroles' : 'clusterrolebindings'}/${o.metadata.name}` }).catch(() => undefined);
  }
});

describe('the bundle', () => {
  it('runs --help from outside the repository', async () => {
    const r = await runNode(join(scripts, 'launch_kubernetes.mjs'), ['--help'], {});
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--kernel-id');
  });
});

describe('shared namespace', () => {
  let ns: string;
  let kubeconfig: string;
  beforeAll(async () => {
    ns = await cluster.createNamespace('gp-shared');
    kubeconfig = await identity({ namespace: ns, serviceAccountName: 'gp-app', appName: `gp-sh-${suffix}`, modes: ['shared'], templateResources: ['secrets', 'persistentvolumeclaims', 'services', 'configmaps'] });
  });

  it('creates exactly the kernel pod, valid for the API server, and --dry-run printed the same', async () => {
    const kid = randomUUID();
    const env = { ...kernelEnv(), KUBECONFIG: kubeconfig, GP_NAMESPACE: ns };
    const before = await inventory(admin, ns);
    const dry = await runNode(join(scripts, 'launch_kubernetes.mjs'), argv(kid, ['--dry-run']), { ...kernelEnv(), GP_NAMESPACE: ns });
    expect(dry.code, dry.stderr).toBe(0);
    const r = await runNode(join(scripts, 'launch_kubernetes.mjs'), argv(kid), env);
    expect(r.code, r.stderr).toBe(0);
    const after = await inventory(admin, ns);
    const docs = yamlDocs(dry.stdout);
    expect(after.filter((x) => !before.includes(x))).toEqual(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort());
    expect(docs.map((d) => d.kind)).toContain('Pod');
    for (const d of docs) expectSubset(d, await getObject(admin, d.apiVersion, d.kind, d.metadata.name, ns));
    const pod = await getObject<{ metadata: { labels: Record<string, string> }; spec: { containers: { env: { name: string; value?: string }[] }[] } }>(
      admin,
      'v1',
      'Pod',
      `alice-${kid}`,
      ns,
    );
    expect(pod.metadata.labels).toMatchObject({ kernel_id: kid, component: 'kernel' });
    const names = pod.spec.containers[0]!.env.map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['KERNEL_ID', 'KERNEL_LANGUAGE', 'RESPONSE_ADDRESS', 'PUBLIC_KEY', 'PORT_RANGE', 'KERNEL_NAMESPACE', 'KERNEL_USERNAME', 'KERNEL_NAME']));
    expect(names).not.toContain('KUBECONFIG');
    expect(names).not.toContain('PATH');
    expect(names.filter((n) => n.startsWith('GP_'))).toEqual([]);
  });

  it('reports which verb on which resource the identity lacks (403), creating nothing', async () => {
    const other = await cluster.createNamespace('gp-other');
    const r = await runNode(join(scripts, 'launch_kubernetes.mjs'), argv(randomUUID()), { ...kernelEnv(), KUBECONFIG: kubeconfig, GP_NAMESPACE: other });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('GP_K8S_FORBIDDEN');
    expect(r.stderr).toContain(`system:serviceaccount:${ns}:gp-app`);
    expect(r.stderr).toMatch(/cannot create resource "pods"/);
    expect(await inventory(admin, other)).toEqual([]);
  });

  it('gives the template\'s other objects an ownerReference to the pod, so they go with it', async () => {
    const kid = randomUUID();
    const env = kernelEnv();
    const request: LaunchRequest = { kernelId: kid, responseAddress: '10.1.2.3:8877', publicKey: PUBLIC_KEY, env, settings: readHostSettings({ GP_NAMESPACE: ns }) };
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const result = await launchKernelResources(request, { kubeConfig: kc, template: COMPANIONS_TEMPLATE });
    const podUid = result.created[0]!.metadata.uid as string;
    const companions = [['Secret', `alice-${kid}-secret`], ['PersistentVolumeClaim', `alice-${kid}-work`], ['ConfigMap', `alice-${kid}-cfg`], ['Service', `svc-${kid}`]] as const;
    for (const [kind, name] of companions) {
      const o = await getObject<{ metadata: { ownerReferences: { kind: string; name: string; uid: string }[] } }>(admin, 'v1', kind, name, ns);
      expect(o.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Pod', name: `alice-${kid}`, uid: podUid, controller: true })]);
    }
    await deleteKernelResources(result.handle, { kubeConfig: kc });
    for (const [kind, name] of companions) await gone('v1', kind, name, ns);
  });

  const hostile: [string, Record<string, string>, Record<string, string>, RegExp][] = [
    ['YAML injection in KERNEL_CPUS', { KERNEL_CPUS: '1"\n    privileged: true\n    x: "' }, {}, /GP_INVALID_CONFIG.*KERNEL_CPUS/],
    ['template injection in KERNEL_MEMORY', { KERNEL_MEMORY: '{{ 7*7 }}' }, {}, /GP_INVALID_CONFIG.*KERNEL_MEMORY/],
    ['bad quantity', { KERNEL_GPUS: 'lots' }, {}, /GP_INVALID_CONFIG.*KERNEL_GPUS/],
    ['limit below request', { KERNEL_MEMORY: '2Gi', KERNEL_MEMORY_LIMIT: '1Gi' }, {}, /GP_INVALID_CONFIG.*KERNEL_MEMORY_LIMIT/],
    ['YAML injection in KERNEL_IMAGE', { KERNEL_IMAGE: 'img\n  securityContext: {privileged: true}' }, {}, /GP_INVALID_CONFIG.*KERNEL_IMAGE/],
    ['injection in KERNEL_USERNAME', { KERNEL_USERNAME: 'bob\nkind: Secret' }, {}, /GP_INVALID_CONFIG.*KERNEL_USERNAME/],
    ['injection in KERNEL_NAMESPACE', { KERNEL_NAMESPACE: 'x\n  y: z' }, {}, /GP_INVALID_CONFIG.*KERNEL_NAMESPACE/],
    ['uppercase and dots in KERNEL_NAMESPACE', { KERNEL_NAMESPACE: 'Team.A' }, { GP_SHARED_NAMESPACE: 'false' }, /GP_INVALID_CONFIG.*KERNEL_NAMESPACE/],
    ['client namespace in shared mode', { KERNEL_NAMESPACE: 'kube-system' }, {}, /GP_NAMESPACE_NOT_ALLOWED/],
    ['client service account in shared mode', { KERNEL_SERVICE_ACCOUNT_NAME: 'gp-app' }, {}, /GP_SERVICE_ACCOUNT_NOT_ALLOWED/],
    ['YAML injection in KERNEL_VOLUMES', { KERNEL_VOLUMES: '- name: x\n  hostPath: {path: /}' }, {}, /GP_(VOLUME_NOT_ALLOWED|INVALID_CONFIG)/],
    ['structure injection in KERNEL_VOLUME_MOUNTS', { KERNEL_VOLUME_MOUNTS: '"not a list"' }, {}, /GP_INVALID_CONFIG/],
    ['UID 0', { KERNEL_UID: '0' }, {}, /GP_UID_PROHIBITED/],
    ['UID 00', { KERNEL_UID: '00' }, {}, /GP_UID_PROHIBITED/],
    ['GID 0', { KERNEL_GID: '0' }, {}, /GP_GID_PROHIBITED/],
    ['non-numeric UID', { KERNEL_UID: '1000; rm -rf /' }, {}, /GP_INVALID_CONFIG.*KERNEL_UID/],
    ['unauthorized user root', { KERNEL_USERNAME: 'root' }, {}, /GP_USER_NOT_AUTHORIZED/],
    ['user outside GP_AUTHORIZED_USERS', { KERNEL_USERNAME: 'mallory' }, { GP_AUTHORIZED_USERS: 'alice,bob' }, /GP_USER_NOT_AUTHORIZED/],
    ['unreadable GP_PROHIBITED_UIDS', {}, { GP_PROHIBITED_UIDS: '0,root' }, /GP_INVALID_CONFIG.*GP_PROHIBITED_UIDS/],
    ['relative KERNEL_WORKING_DIR when mirrored', { KERNEL_WORKING_DIR: '../../etc' }, { GP_MIRROR_WORKING_DIRS: 'true' }, /GP_INVALID_CONFIG.*KERNEL_WORKING_DIR/],
  ];
  it.each(hostile)('refuses %s with its error and creates nothing', async (_, env, host, re) => {
    const kid = randomUUID();
    const before = await inventory(admin, ns);
    const r = await runNode(join(scripts, 'launch_kubernetes.mjs'), argv(kid), { ...kernelEnv(env), ...host, KUBECONFIG: kubeconfig, GP_NAMESPACE: ns });
    expect(r.code).toBe(1);
    expect(r.stderr.replace(/\n/g, ' ')).toMatch(re);
    expect(await inventory(admin, ns)).toEqual(before);
    const nsList = await admin.request<{ items: unknown[] }>({ method: 'GET', path: `/api/v1/namespaces?labelSelector=kernel_id%3D${kid}` });
    expect(nsList.items).toEqual([]);
  });

  // The same YAML-injection payload in every KERNEL_* variable the templates read: refused by name, or kept literal.
  const PAYLOAD = 'a"\n  evil: "1';
  const refusedVariables = [
    'KERNEL_USERNAME', 'KERNEL_LANGUAGE', 'KERNEL_NAMESPACE', 'KERNEL_SERVICE_ACCOUNT_NAME', 'KERNEL_UID', 'KERNEL_GID',
    'KERNEL_IMAGE', 'KERNEL_EXECUTOR_IMAGE', 'KERNEL_CPUS', 'KERNEL_MEMORY', 'KERNEL_GPUS', 'KERNEL_CPUS_LIMIT',
    'KERNEL_MEMORY_LIMIT', 'KERNEL_GPUS_LIMIT', 'KERNEL_WORKING_DIR', 'KERNEL_VOLUMES', 'KERNEL_VOLUME_MOUNTS',
  ];
  it.each(refusedVariables)('refuses the injection payload in %s by name, creating nothing', async (name) => {
    const kid = randomUUID();
    const before = await inventory(admin, ns);
    const r = await runNode(join(scripts, 'launch_kubernetes.mjs'), argv(kid), { ...kernelEnv({ [name]: PAYLOAD }), GP_MIRROR_WORKING_DIRS: 'true', KUBECONFIG: kubeconfig, GP_NAMESPACE: ns });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('GP_INVALID_CONFIG');
    expect(r.stderr.toUpperCase()).toContain(name);
    expect(await inventory(admin, ns)).toEqual(before);
  });
  it.each(['KERNEL_POD_NAME', 'KERNEL_APP_NAME', 'KERNEL_SPARKAPP_CONFIG_MAP', 'KERNEL_ANYTHING'])('keeps the injection payload in %s literal', async (name) => {
    const kid = randomUUID();
    const before = await inventory(admin, ns);
    const r = await runNode(join(scripts, 'launch_kubernetes.mjs'), argv(kid), { ...kernelEnv({ [name]: PAYLOAD }), KUBECONFIG: kubeconfig, GP_NAMESPACE: ns });
    expect(r.code, r.stderr).toBe(0);
    const added = (await inventory(admin, ns)).filter((x) => !before.includes(x));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(/^Pod\//);
    const pod = await getObject(admin, 'v1', 'Pod', added[0]!.slice(4), ns);
    expect(JSON.stringify(pod)).not.toContain('"evil"');
    expect(pod.metadata.labels).toMatchObject({ kernel_id: kid, app: 'gateway-provisioners', component: 'kernel' });
  });

  it('keeps 200-character, uppercase and dotted usernames valid (names are sanitized, not refused)', async () => {
    const kid = randomUUID();
    const user = 'Very.Long.User.' + 'X'.repeat(185);
    const r = await runNode(join(scripts, 'launch_kubernetes.mjs'), argv(kid), { ...kernelEnv({ KERNEL_USERNAME: user }), KUBECONFIG: kubeconfig, GP_NAMESPACE: ns });
    expect(r.code, r.stderr).toBe(0);
    const pods = await admin.request<{ items: { metadata: { name: string } }[] }>({ method: 'GET', path: `/api/v1/namespaces/${ns}/pods?labelSelector=kernel_id%3D${kid}` });
    expect(pods.items).toHaveLength(1);
    const name = pods.items[0]!.metadata.name;
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^very-long-user-x+-[0-9a-f]{8}-/);
    expect(name.endsWith(kid)).toBe(true);
  });
});

describe('bring-your-own namespace', () => {
  let app: string;
  let team: string;
  let kubeconfig: string;
  beforeAll(async () => {
    app = await cluster.createNamespace('gp-byo-app');
    team = await cluster.createNamespace('gp-byo-team');
    await apply(admin, [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'kernels', namespace: team } }]);
    kubeconfig = await identity({ namespace: app, serviceAccountName: 'gp-app', appName: `gp-byo-${suffix}`, modes: ['byo'], byoNamespaces: [team], kernelClusterRole: `gp-byo-kernel-${suffix}` });
  });

  it('creates the pod in KERNEL_NAMESPACE as KERNEL_SERVICE_ACCOUNT_NAME, and termination leaves the namespace', async () => {
    const kid = randomUUID();
    const before = await inventory(admin, team);
    const env = { ...kernelEnv({ KERNEL_NAMESPACE: team, KERNEL_SERVICE_ACCOUNT_NAME: 'kernels' }), GP_SHARED_NAMESPACE: 'false', KUBECONFIG: kubeconfig };
    const r = await runNode(join(scripts, 'launch_kubernetes.mjs'), argv(kid), env);
    expect(r.code, r.stderr).toBe(0);
    expect((await inventory(admin, team)).filter((x) => !before.includes(x))).toEqual([`Pod/alice-${kid}`]);
    const pod = await getObject<{ spec: { serviceAccountName: string } }>(admin, 'v1', 'Pod', `alice-${kid}`, team);
    expect(pod.spec.serviceAccountName).toBe('kernels');

    const request: LaunchRequest = { kernelId: kid, responseAddress: '10.1.2.3:8877', publicKey: PUBLIC_KEY, env, settings: readHostSettings(env) };
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    await deleteKernelResources(planKernelResources(request).handle, { kubeConfig: kc });
    await gone('v1', 'Pod', `alice-${kid}`, team);
    expect(await exists(admin, 'v1', 'Namespace', team)).toBe(true);
  });
});

describe('automatic namespace', () => {
  const kernelRole = `gp-auto-kernel-${suffix}`;
  let app: string;
  let kubeconfig: string;
  beforeAll(async () => {
    app = await cluster.createNamespace('gp-auto-app');
    kubeconfig = await identity({ namespace: app, serviceAccountName: 'gp-app', appName: `gp-auto-${suffix}`, modes: ['auto'], kernelClusterRole: kernelRole });
  });

  it('creates namespace, service account, RoleBinding and pod under real RBAC; termination removes them all', async () => {
    const kid = randomUUID();
    const env = { ...kernelEnv(), GP_SHARED_NAMESPACE: 'false', GP_KERNEL_CLUSTER_ROLE: kernelRole, KUBECONFIG: kubeconfig };
    const dry = await runNode(join(scripts, 'launch_kubernetes.mjs'), argv(kid, ['--dry-run']), { ...env, KUBECONFIG: '/nonexistent' });
    expect(dry.code, dry.stderr).toBe(0);
    const r = await runNode(join(scripts, 'launch_kubernetes.mjs'), argv(kid), env);
    expect(r.code, r.stderr).toBe(0);
    const ns = `alice-${kid}`;
    const docs = yamlDocs(dry.stdout);
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([`Namespace/${ns}`, 'ServiceAccount/kernel', `RoleBinding/${kernelRole}-binding`, `Pod/${ns}`]);
    expect(await inventory(admin, ns)).toEqual([`Pod/${ns}`, `RoleBinding/${kernelRole}-binding`, 'ServiceAccount/kernel']);
    for (const d of docs) expectSubset(d, await getObject(admin, d.apiVersion, d.kind, d.metadata.name, d.kind === 'Namespace' ? undefined : ns));

    const request: LaunchRequest = { kernelId: kid, responseAddress: '10.1.2.3:8877', publicKey: PUBLIC_KEY, env, settings: readHostSettings(env) };
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const handle = planKernelResources(request).handle;
    expect(handle).toMatchObject({ namespace: ns, deleteNamespace: true });
    await deleteKernelResources(handle, { kubeConfig: kc });
    await gone('v1', 'Namespace', ns);
    const leftovers = await admin.request<{ items: unknown[] }>({ method: 'GET', path: `/apis/rbac.authorization.k8s.io/v1/rolebindings?labelSelector=kernel_id%3D${kid}` });
    expect(leftovers.items).toEqual([]);
    const sas = await admin.request<{ items: { metadata: { namespace: string } }[] }>({ method: 'GET', path: `/api/v1/serviceaccounts?fieldSelector=metadata.namespace%3D${ns}` });
    expect(sas.items).toEqual([]);
  });

  it('restarts in the kept namespace: the pod is replaced, namespace, service account and RoleBinding reused', async () => {
    const kid = randomUUID();
    const env = { ...kernelEnv(), GP_SHARED_NAMESPACE: 'false', GP_KERNEL_CLUSTER_ROLE: kernelRole };
    const request: LaunchRequest = { kernelId: kid, responseAddress: '10.1.2.3:8877', publicKey: PUBLIC_KEY, env, settings: readHostSettings(env) };
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const first = await launchKernelResources(request, { kubeConfig: kc });
    const ns = first.handle.namespace;
    const nsUid = (await getObject(admin, 'v1', 'Namespace', ns)).metadata.uid;
    await deleteKernelResources(first.handle, { kubeConfig: kc, keepNamespace: true });
    await expect(launchKernelResources(request, { kubeConfig: kc })).rejects.toMatchObject({ code: 'GP_K8S_CONFLICT' });
    expect((await getObject(admin, 'v1', 'Namespace', ns)).metadata.uid).toBe(nsUid); // a failed non-restart launch leaves a namespace it did not create
    const second = await launchKernelResources(request, { kubeConfig: kc, restart: true });
    expect(second.created.map((o) => o.kind)).toEqual(['Pod']);
    expect(await inventory(admin, ns)).toEqual([`Pod/${ns}`, `RoleBinding/${kernelRole}-binding`, 'ServiceAccount/kernel']);
    await deleteKernelResources(second.handle, { kubeConfig: kc });
    await gone('v1', 'Namespace', ns);
  });

  it('refuses a bring-your-own namespace that does not exist, creating nothing', async () => {
    const kid = randomUUID();
    const missing = `gp-missing-${suffix}`;
    const env = { ...kernelEnv({ KERNEL_NAMESPACE: missing, KERNEL_SERVICE_ACCOUNT_NAME: 'kernels' }), GP_SHARED_NAMESPACE: 'false', KUBECONFIG: kubeconfig };
    const r = await runNode(join(scripts, 'launch_kubernetes.mjs'), argv(kid), env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('GP_K8S_NOT_FOUND');
    expect(r.stderr).toContain(`namespaces "${missing}" not found`);
    expect(await exists(admin, 'v1', 'Namespace', missing)).toBe(false);
  });

  it('removes the namespace when a later step fails', async () => {
    const kid = randomUUID();
    // The kernel role does not exist under this name's binding rights: the RoleBinding is refused by RBAC
    const env = { ...kernelEnv(), GP_SHARED_NAMESPACE: 'false', GP_KERNEL_CLUSTER_ROLE: `not-bindable-${suffix}`, KUBECONFIG: kubeconfig };
    const r = await runNode(join(scripts, 'launch_kubernetes.mjs'), argv(kid), env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/GP_K8S_(FORBIDDEN|NOT_FOUND): Kubernetes refused to create RoleBinding/);
    await gone('v1', 'Namespace', `alice-${kid}`);
  });
});

describe('custom resource (SparkApplication)', () => {
  let ns: string;
  let kubeconfig: string;
  beforeAll(async () => {
    ns = await cluster.createNamespace('gp-crd');
    kubeconfig = await identity({ namespace: ns, serviceAccountName: 'gp-app', appName: `gp-crd-${suffix}`, modes: ['shared'], sparkOperator: true });
  });

  it('creates the SparkApplication in the kernel namespace', async () => {
    const kid = randomUUID();
    const r = await runNode(join(crScripts, 'launch_custom_resource.mjs'), argv(kid, ['--spark-context-initialization-mode', 'lazy']), {
      ...kernelEnv(),
      KUBECONFIG: kubeconfig,
      GP_NAMESPACE: ns,
    });
    expect(r.code, r.stderr).toBe(0);
    const app = await getObject<{ metadata: { labels: Record<string, string> }; spec: { driver: { env: { name: string }[] } } }>(
      admin,
      'sparkoperator.k8s.io/v1beta2',
      'SparkApplication',
      `alice-${kid}`,
      ns,
    );
    expect(app.metadata.labels.kernel_id).toBe(kid);
    expect(app.spec.driver.env.map((e) => e.name)).toContain('RESPONSE_ADDRESS');
  });

  it('says the Spark Operator is not installed when the API server does not serve the resource', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const env = kernelEnv();
    const err = await launchCustomResource(
      { kernelId: randomUUID(), responseAddress: '10.1.2.3:8877', publicKey: PUBLIC_KEY, env, settings: readHostSettings({ GP_NAMESPACE: ns }) },
      {
        kubeConfig: kc,
        templateDir: crScripts,
        resource: { group: 'sparkoperator.k8s.io', version: 'v1alpha9', plural: 'sparkapplications', kind: 'SparkApplication' },
        template: { name: 't', source: 'apiVersion: sparkoperator.k8s.io/v1alpha9\nkind: SparkApplication\nmetadata:\n  name: {{ kernel_resource_name }}\nspec: {}\n' },
      },
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'GP_CRD_NOT_INSTALLED' });
    expect((err as Error).message).toContain('the Spark Operator is not installed in this cluster');
  });
});
