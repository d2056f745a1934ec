/**
 * The Helm chart (`helm/`) with the real Helm CLI (built from helm.sh/helm/v4 by @gp/testkit) and the real API
 * server: `helm lint` passes; what `helm template` renders for each namespace mode and several value sets is
 * accepted by a server-side apply with strict field validation (dry run), its RBAC is exactly what @gp/rbac's
 * `rbacManifests()` builds for the same options, its Deployment and Service are those of `gatewayManifests()`;
 * the values schema and the templates' checks refuse bad values with a message naming the value.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rbacManifests, type RbacOptions } from '@gp/rbac';
import { ensureHelmBinary, runHelm, useCluster, type HelmResult } from '@gp/testkit';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, PolicyV1Api, type V1ConfigMap, type V1DaemonSet, type V1Deployment } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHART_DIR } from './helm-chart.js';
import { applyObject, refusals, type AnyObject } from './k8s-apply.js';
import { gatewayManifests } from './manifests.js';

const cluster = useCluster();
const RELEASE = 'gw';
const RBAC_KINDS = new Set(['ServiceAccount', 'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);

let valuesDir: string;
let ns: string;
let byoA: string;
let byoB: string;

beforeAll(async () => {
  // The first run builds helm from its Go module (minutes, cold); later runs find it in the cache.
  await ensureHelmBinary();
  valuesDir = mkdtempSync(join(tmpdir(), 'gp-helm-values-'));
  ns = await cluster.createNamespace('gw-helm');
  byoA = await cluster.createNamespace('gw-helm-byo-a');
  byoB = await cluster.createNamespace('gw-helm-byo-b');
}, 30 * 60_000);

let files = 0;
function valuesFile(values: object): string {
  const path = join(valuesDir, `values-${++files}.yaml`);
  writeFileSync(path, stringify(values));
  return path;
}

function helm(args: string[], values: object = {}): Promise<HelmResult> {
  return runHelm([...args, '-f', valuesFile(values)]);
}

async function template(values: object, namespace = ns): Promise<AnyObject[]> {
  const result = await helm(['template', RELEASE, CHART_DIR, '--namespace', namespace], values);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return parseAllDocuments(result.stdout)
    .map((d) => d.toJS() as AnyObject | null)
    .filter((o): o is AnyObject => o !== null);
}

const key = (o: AnyObject) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
const byKey = (objects: AnyObject[]) => [...objects].sort((a, b) => key(a).localeCompare(key(b)));
const applyAll = (objects: AnyObject[]) => refusals(objects, (o) => applyObject(cluster.info, o, true));

interface Case {
  title: string;
  values: () => Record<string, unknown>;
  rbac: () => Omit<RbacOptions, 'appName' | 'namespace' | 'serviceAccountName'>;
}

const cases: Case[] = [
  { title: 'shared (the defaults)', values: () => ({}), rbac: () => ({ modes: ['shared'] }) },
  {
    title: 'shared, kernel service account, persistent store, template resources, culling, allowed env',
    values: () => ({
      kernels: { serviceAccount: 'kernel', templateResources: ['configmaps', 'secrets'] },
      replicas: 1,
      kernelStore: { type: 'file', persistence: { enabled: true, size: '2Gi' } },
      culling: { idleTimeout: 3600, interval: 60, connected: true },
      allowedEnv: ['KERNEL_USERNAME', 'KERNEL_EXTRA_*'],
    }),
    rbac: () => ({ modes: ['shared'], kernelServiceAccount: 'kernel', templateResources: ['configmaps', 'secrets'], kernelStore: 'file' }),
  },
  { title: 'bring-your-own, cluster-wide', values: () => ({ namespaceModes: ['byo'] }), rbac: () => ({ modes: ['byo'] }) },
  {
    title: 'shared + bring-your-own in listed namespaces with a kernel service account',
    values: () => ({ namespaceModes: ['shared', 'byo'], byoNamespaces: [byoA, byoB], kernels: { serviceAccount: 'kernel' } }),
    rbac: () => ({ modes: ['shared', 'byo'], byoNamespaces: [byoA, byoB], kernelServiceAccount: 'kernel' }),
  },
  { title: 'automatic', values: () => ({ namespaceModes: ['auto'], kernels: { clusterRole: 'gw-kernels' } }), rbac: () => ({ modes: ['auto'], kernelClusterRole: 'gw-kernels' }) },
  {
    title: 'shared + automatic, Spark Operator, every template resource, NodePort, kernel-image puller',
    values: () => ({
      namespaceModes: ['shared', 'auto'],
      sparkOperator: true,
      kernels: { templateResources: ['secrets', 'persistentvolumeclaims', 'services', 'configmaps'] },
      service: { type: 'NodePort' },
      kernelImagePuller: { enabled: true },
    }),
    rbac: () => ({ modes: ['shared', 'auto'], sparkOperator: true, templateResources: ['secrets', 'persistentvolumeclaims', 'services', 'configmaps'] }),
  },
  { title: 'every mode', values: () => ({ namespaceModes: ['shared', 'byo', 'auto'] }), rbac: () => ({ modes: ['shared', 'byo', 'auto'] }) },
  {
    title: 'TLS with client certificates, kernel limits',
    values: () => ({ tls: { enabled: true, secretName: 'gateway-tls', clientCA: true }, limits: { maxKernels: 50, maxKernelsPerUser: 3 } }),
    rbac: () => ({ modes: ['shared'] }),
  },
];

describe('helm lint', () => {
  it('passes with the defaults and with every case of this file', async () => {
    for (const c of [cases[0]!, ...cases]) {
      const result = await helm(['lint', '--strict', CHART_DIR, '--namespace', ns], c.values());
      expect(result.stdout + result.stderr, c.title).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(result.code, `${c.title}\n${result.stdout}${result.stderr}`).toBe(0);
    }
  });
});

describe('helm template, applied server-side with strict field validation (dry run)', () => {
  for (const c of cases) {
    it(`renders ${c.title}: accepted, with the RBAC of @gp/rbac`, async () => {
      const objects = await template(c.values());
      expect(await applyAll(objects)).toEqual([]);

      // The chart's default store is kubernetes (the state Role and its binding); a case with the file store says so.
      const expected = rbacManifests({ appName: RELEASE, namespace: ns, serviceAccountName: RELEASE, kernelStore: 'kubernetes', ...c.rbac() }) as AnyObject[];
      const rendered = objects.filter((o) => RBAC_KINDS.has(o.kind ?? ''));
      expect(byKey(rendered)).toEqual(byKey(JSON.parse(JSON.stringify(expected)) as AnyObject[]));
    });
  }

  it('can refuse: a misspelt field in a rendered object is an error under strict field validation', async () => {
    const objects = await template({});
    const deployment = structuredClone(objects.find((o) => o.kind === 'Deployment')) as V1Deployment & { spec: { replica?: number } };
    deployment.spec.replica = 2;
    const refused = await applyAll([deployment]);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/\.spec\.replica: field not declared in schema/);
  });

  it('renders the Deployment and Service of gatewayManifests(), and its ConfigMap plus the chart settings', async () => {
    const objects = await template({ replicas: 1, kernelStore: { type: 'file', persistence: { enabled: true, size: '1Gi' } } });
    // With the file store the chart is the single-gateway deployment, as gatewayManifests({ kernelStore: 'file' }).
    const expected = gatewayManifests({ name: RELEASE, namespace: ns, createNamespace: false, kernelStore: 'file', stateVolumeSize: '1Gi' }) as AnyObject[];
    const find = (list: AnyObject[], kind: string) => JSON.parse(JSON.stringify(list.find((o) => o.kind === kind))) as Record<string, unknown>;

    const deployment = find(objects, 'Deployment') as unknown as V1Deployment;
    expect(Object.keys(deployment.spec!.template.metadata!.annotations ?? {})).toEqual(['checksum/config']);
    delete deployment.spec!.template.metadata!.annotations;
    expect(deployment).toEqual(find(expected, 'Deployment'));
    expect(find(objects, 'Service')).toEqual(find(expected, 'Service'));
    const pvc = find(objects, 'PersistentVolumeClaim') as { metadata: { annotations?: Record<string, string> } };
    expect(pvc.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
    delete pvc.metadata.annotations;
    expect(pvc).toEqual(find(expected, 'PersistentVolumeClaim'));

    const data = (find(objects, 'ConfigMap') as V1ConfigMap).data!;
    expect(data).toMatchObject((find(expected, 'ConfigMap') as V1ConfigMap).data!);
    expect(data).toMatchObject({ GP_GATEWAY_CULL_IDLE_TIMEOUT: '0', GP_GATEWAY_CULL_INTERVAL: '300', GP_GATEWAY_CULL_CONNECTED: 'false', GP_GATEWAY_CULL_BUSY: 'false' });
  });

  it('with the kernelStore kubernetes (the default) renders the replicated objects of gatewayManifests(): 2 replicas, RollingUpdate, a PodDisruptionBudget, no PVC', async () => {
    const find = (list: AnyObject[], kind: string) => JSON.parse(JSON.stringify(list.find((o) => o.kind === kind) ?? null)) as Record<string, unknown> | null;
    for (const replicas of [2, 3]) {
      // Persistence enabled in values.yaml would be refused (schema); the file store's PVC must not appear.
      const objects = await template(replicas === 2 ? {} : { replicas });
      expect(await applyAll(objects)).toEqual([]);
      const expected = gatewayManifests({ name: RELEASE, namespace: ns, createNamespace: false, replicas }) as AnyObject[];
      expect(expected.some((o) => o.kind === 'PodDisruptionBudget')).toBe(true);
      const deployment = find(objects, 'Deployment') as unknown as V1Deployment;
      delete deployment.spec!.template.metadata!.annotations;
      expect(deployment).toEqual(find(expected, 'Deployment'));
      expect(deployment.spec!.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
      expect(find(objects, 'Service')).toEqual(find(expected, 'Service'));
      expect(find(objects, 'PodDisruptionBudget')).toEqual(find(expected, 'PodDisruptionBudget'));
      expect(objects.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
      const data = (find(objects, 'ConfigMap') as V1ConfigMap).data!;
      expect(data).toMatchObject((find(expected, 'ConfigMap') as V1ConfigMap).data!);
      expect(data.GP_GATEWAY_KERNEL_STORE).toBe('kubernetes');
      expect(data.GP_GATEWAY_STATE_FILE).toBeUndefined();
      const rbac = objects.filter((o) => RBAC_KINDS.has(o.kind ?? ''));
      expect(byKey(rbac)).toEqual(byKey(JSON.parse(JSON.stringify(expected.filter((o) => RBAC_KINDS.has(o.kind ?? '')))) as AnyObject[]));
      expect(rbac.map(key)).toContain(`Role/${ns}/${RELEASE}-state`);
    }
    // One replica: no budget (it would block every drain), as gatewayManifests({ replicas: 1 }).
    const single = await template({ replicas: 1 });
    expect(single.some((o) => o.kind === 'PodDisruptionBudget')).toBe(false);
    expect(gatewayManifests({ replicas: 1 }).some((o) => o.kind === 'PodDisruptionBudget')).toBe(false);
    // The file store: Recreate, the state file, no state Role.
    const file = await template({ replicas: 1, kernelStore: { type: 'file' } });
    expect((find(file, 'Deployment') as unknown as V1Deployment).spec!.strategy).toEqual({ type: 'Recreate' });
    expect((find(file, 'ConfigMap') as V1ConfigMap).data!.GP_GATEWAY_STATE_FILE).toBe('/var/lib/gp-gateway/kernels.json');
    expect((find(file, 'ConfigMap') as V1ConfigMap).data!.GP_GATEWAY_KERNEL_STORE).toBeUndefined();
    expect(file.some((o) => o.kind === 'PodDisruptionBudget' || o.metadata?.name === `${RELEASE}-state`)).toBe(false);
  });

  it('sets GP_SHARED_NAMESPACE, allowed env and culling from the values', async () => {
    const configOf = async (values: object) => ((await template(values)).find((o) => o.kind === 'ConfigMap') as V1ConfigMap).data!;
    expect((await configOf({ namespaceModes: ['shared', 'byo'] })).GP_SHARED_NAMESPACE).toBe('true');
    expect((await configOf({ namespaceModes: ['shared', 'auto'] })).GP_SHARED_NAMESPACE).toBe('false');
    const data = await configOf({ allowedEnv: ['KERNEL_USERNAME', 'KERNEL_EXTRA_*'], culling: { idleTimeout: 600, busy: true }, extraConfig: { GP_GATEWAY_LOG_LEVEL: 'debug' } });
    expect(data).toMatchObject({ GP_GATEWAY_ALLOWED_ENV: 'KERNEL_USERNAME,KERNEL_EXTRA_*', GP_GATEWAY_CULL_IDLE_TIMEOUT: '600', GP_GATEWAY_CULL_BUSY: 'true', GP_GATEWAY_LOG_LEVEL: 'debug' });
  });

  it('metricsPort: GP_GATEWAY_METRICS_PORT and a pod port named metrics; none by default', async () => {
    const objects = await template({ metricsPort: 9090 });
    expect(await applyAll(objects)).toEqual([]);
    expect((objects.find((o) => o.kind === 'ConfigMap') as V1ConfigMap).data!.GP_GATEWAY_METRICS_PORT).toBe('9090');
    const ports = (objects.find((o) => o.kind === 'Deployment') as unknown as V1Deployment).spec!.template.spec!.containers[0]!.ports!;
    expect(ports.find((p) => p.name === 'metrics')).toEqual({ name: 'metrics', containerPort: 9090, protocol: 'TCP' });
    const plain = await template({});
    expect((plain.find((o) => o.kind === 'ConfigMap') as V1ConfigMap).data!.GP_GATEWAY_METRICS_PORT).toBeUndefined();
    expect((plain.find((o) => o.kind === 'Deployment') as unknown as V1Deployment).spec!.template.spec!.containers[0]!.ports!.some((p) => p.name === 'metrics')).toBe(false);
  });

  it('TLS mounts the Secret read-only, points the gateway at its files and probes over HTTPS; limits reach the ConfigMap', async () => {
    const objects = await template({ tls: { enabled: true, secretName: 'gateway-tls', clientCA: true }, limits: { maxKernels: 50, maxKernelsPerUser: 3 } });
    const deployment = objects.find((o) => o.kind === 'Deployment') as V1Deployment;
    const pod = deployment.spec!.template.spec!;
    const container = pod.containers[0]!;
    expect(pod.volumes!.find((v) => v.name === 'tls')).toEqual({ name: 'tls', secret: { secretName: 'gateway-tls', defaultMode: 0o440 } });
    expect(container.volumeMounts!.find((m) => m.name === 'tls')).toEqual({ name: 'tls', mountPath: '/etc/gp-gateway/tls', readOnly: true });
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) expect(probe!.httpGet!.scheme).toBe('HTTPS');
    const data = (objects.find((o) => o.kind === 'ConfigMap') as V1ConfigMap).data!;
    expect(data).toMatchObject({
      GP_GATEWAY_CERTFILE: '/etc/gp-gateway/tls/tls.crt',
      GP_GATEWAY_KEYFILE: '/etc/gp-gateway/tls/tls.key',
      GP_GATEWAY_CLIENT_CA: '/etc/gp-gateway/tls/ca.crt',
      GP_GATEWAY_MAX_KERNELS: '50',
      GP_GATEWAY_MAX_KERNELS_PER_USER: '3',
    });
    // Without clientCA: no CA file; without TLS: plain HTTP probes and no TLS settings.
    const serverOnly = (await template({ tls: { enabled: true, secretName: 'gateway-tls' } })).find((o) => o.kind === 'ConfigMap') as V1ConfigMap;
    expect(serverOnly.data!.GP_GATEWAY_CLIENT_CA).toBeUndefined();
    const plain = await template({});
    expect((plain.find((o) => o.kind === 'Deployment') as V1Deployment).spec!.template.spec!.containers[0]!.readinessProbe!.httpGet!.scheme).toBeUndefined();
    expect(Object.keys((plain.find((o) => o.kind === 'ConfigMap') as V1ConfigMap).data!).filter((k) => /CERTFILE|KEYFILE|CLIENT_CA/.test(k))).toEqual([]);
  });

  it('the kernel-image puller pulls each image of the values in an init container running the no-op command, under baseline Pod Security', async () => {
    const images = ['registry.example.com/kernels/py:1.0', 'elyra/kernel-r:3.2.3'];
    const objects = await template({ kernelImagePuller: { enabled: true, images } });
    const daemonSet = objects.find((o) => o.kind === 'DaemonSet') as V1DaemonSet;
    const spec = daemonSet.spec!.template.spec!;
    expect(spec.initContainers!.map((c) => [c.image, c.command])).toEqual(images.map((i) => [i, ['/bin/sh', '-c', 'true']]));
    expect(spec.containers.map((c) => c.image)).toEqual(['registry.k8s.io/pause:3.10']);
    expect(await applyAll([daemonSet])).toEqual([]);
    expect((await template({})).some((o) => o.kind === 'DaemonSet')).toBe(false);

    // Its pod is admitted where kernel pods run ("baseline"); it needs no host access.
    const baseline = await cluster.createNamespace('gw-helm-baseline', { 'pod-security.kubernetes.io/enforce': 'baseline' });
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'puller', namespace: baseline }, spec: structuredClone(spec) };
    expect(await refusals([pod], (o) => applyObject(cluster.info, o, true))).toEqual([]);
    const privileged = structuredClone(pod);
    privileged.spec.initContainers![0]!.securityContext = { privileged: true };
    expect((await refusals([privileged], (o) => applyObject(cluster.info, o, true)))[0]).toMatch(/violates PodSecurity "baseline/);
  });
});

describe('helm install on the test cluster', () => {
  it('installs shared + BYO with a kernel service account; the gateway account gets exactly the RBAC it needs; uninstalls', async () => {
    const kubeconfig = cluster.info.kubeconfigPath;
    const release = 'gwi';
    // replicas 0: no gateway pod (its image is not in the process node's table); everything else is real.
    // The file store: no state Role, so the account gets no secrets at all (the replicated mode is installed below).
    const values = { replicas: 0, kernelStore: { type: 'file' }, namespaceModes: ['shared', 'byo'], byoNamespaces: [byoA], kernels: { serviceAccount: 'kernel', clusterRole: 'gwi-kernels' } };
    const installed = await runHelm(['install', release, CHART_DIR, '--namespace', ns, '-f', valuesFile(values), '--timeout', '60s'], { kubeconfig });
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.stdout).toContain('STATUS: deployed');

    const kc = await cluster.kubeConfigForServiceAccount(ns, release);
    const core = kc.makeApiClient(CoreV1Api);
    await cluster.waitFor(async () => core.listNamespacedPod({ namespace: byoA }).then(() => true, () => false), { timeoutMs: 30_000, description: 'the installed RoleBinding to reach the authorizer' });
    await core.listNamespacedPod({ namespace: ns });
    await core.createNamespacedPod({ namespace: byoA, body: { metadata: { name: 'kernel-probe' }, spec: { containers: [{ name: 'k', image: 'busybox' }] } }, dryRun: 'All' });
    const status = async (p: Promise<unknown>): Promise<number> => p.then(() => 200, (e: { code?: number }) => e.code ?? 0);
    expect(await status(core.listNamespacedPod({ namespace: byoB }))).toBe(403);
    expect(await status(core.listNamespacedSecret({ namespace: ns }))).toBe(403);
    expect(await status(core.readNamespacedServiceAccount({ namespace: byoA, name: 'kernel' }))).toBe(403);
    expect((await cluster.core.readNamespacedServiceAccount({ namespace: byoA, name: 'kernel' })).metadata?.name).toBe('kernel');

    const uninstalled = await runHelm(['uninstall', release, '--namespace', ns, '--wait', '--timeout', '60s'], { kubeconfig });
    expect(uninstalled.code, uninstalled.stderr).toBe(0);
    expect(await status(cluster.core.readNamespacedServiceAccount({ namespace: byoA, name: 'kernel' }))).toBe(404);
  });
});

describe('helm install of the replicated mode on the test cluster', () => {
  it('installs 2 replicas (the defaults): both become ready, the PodDisruptionBudget covers them, the gateway account may use its state Secrets and Leases; uninstalls', async () => {
    const kubeconfig = cluster.info.kubeconfigPath;
    const release = 'gwha';
    const haNs = await cluster.createNamespace('gw-helm-ha');
    // The process node runs the gateway image as a stand-in process (the real gateway's replication is proven by
    // ../src/replica/failover.k8s.test.ts): what this checks is the chart's objects on a real control plane.
    cluster.registerImage(gatewayManifests().flatMap((o) => (o.kind === 'Deployment' ? [(o as V1Deployment).spec!.template.spec!.containers[0]!.image!] : []))[0]!, { command: ['sleep', '3600'] });
    await cluster.core.createNamespacedSecret({ namespace: haNs, body: { metadata: { name: `${release}-token` }, stringData: { token: 'not-a-real-token' } } });
    const installed = await runHelm(['install', release, CHART_DIR, '--namespace', haNs, '-f', valuesFile({}), '--timeout', '120s'], { kubeconfig });
    expect(installed.code, installed.stderr).toBe(0);

    const apps = cluster.kc.makeApiClient(AppsV1Api);
    await cluster.waitFor(async () => (await apps.readNamespacedDeployment({ namespace: haNs, name: release })).status?.readyReplicas === 2, { timeoutMs: 120_000, description: 'both gateway replicas ready' });
    const deployment = await apps.readNamespacedDeployment({ namespace: haNs, name: release });
    expect(deployment.spec!.replicas).toBe(2);
    expect(deployment.spec!.strategy!.type).toBe('RollingUpdate');
    const policy = cluster.kc.makeApiClient(PolicyV1Api);
    // The test control plane runs no disruption controller (no PDB status): check the budget selects both pods.
    const pdb = await policy.readNamespacedPodDisruptionBudget({ namespace: haNs, name: release });
    expect(pdb.spec!.maxUnavailable).toBe(1);
    const selector = Object.entries(pdb.spec!.selector!.matchLabels!).map(([k, v]) => `${k}=${v}`).join(',');
    const pods = await cluster.core.listNamespacedPod({ namespace: haNs, labelSelector: selector });
    expect(pods.items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))).toHaveLength(2);

    // The state Role is bound: the gateway's account may manage kernel-record Secrets and Leases in its namespace.
    const kc = await cluster.kubeConfigForServiceAccount(haNs, release);
    const core = kc.makeApiClient(CoreV1Api);
    await cluster.waitFor(async () => core.listNamespacedSecret({ namespace: haNs }).then(() => true, () => false), { timeoutMs: 30_000, description: 'the state RoleBinding to reach the authorizer' });
    await kc.makeApiClient(CoordinationV1Api).createNamespacedLease({ namespace: haNs, body: { metadata: { name: 'probe' }, spec: { holderIdentity: 'probe' } }, dryRun: 'All' });
    const status = async (p: Promise<unknown>): Promise<number> => p.then(() => 200, (e: { code?: number }) => e.code ?? 0);
    expect(await status(core.listNamespacedSecret({ namespace: byoA }))).toBe(403);

    const uninstalled = await runHelm(['uninstall', release, '--namespace', haNs, '--wait', '--timeout', '120s'], { kubeconfig });
    expect(uninstalled.code, uninstalled.stderr).toBe(0);
    expect(await status(policy.readNamespacedPodDisruptionBudget({ namespace: haNs, name: release }))).toBe(404);
  }, 300_000);
});

describe('bad values are refused with a message naming the value', () => {
  // Refused by values.schema.json: `helm lint` fails too.
  const bySchema: [string, object, RegExp][] = [
    ['negative replicas', { replicas: -1 }, /at '\/replicas': minimum: got -1, want 0/],
    ['two replicas with the file store (one gateway per state file)', { replicas: 2, kernelStore: { type: 'file' } }, /'allOf' failed[\s\S]*at '\/replicas': maximum: got 2, want 1/],
    ['a state volume with the kubernetes store (records are Secrets)', { kernelStore: { persistence: { enabled: true } } }, /'allOf' failed[\s\S]*at '\/kernelStore\/persistence\/enabled': value must be false/],
    ['an unknown kernel store', { kernelStore: { type: 'etcd' } }, /at '\/kernelStore\/type': value must be one of 'kubernetes', 'file'/],
    ['an unknown namespace mode', { namespaceModes: ['shared', 'everywhere'] }, /at '\/namespaceModes\/1': value must be one of 'shared', 'byo', 'auto'/],
    ['no namespace mode', { namespaceModes: [] }, /at '\/namespaceModes': minItems/],
    ['a bad image repository', { image: { repository: 'Registry/Gateway Image', tag: '1' } }, /at '\/image\/repository': 'Registry\/Gateway Image' does not match pattern/],
    ['a bad image tag', { image: { repository: 'ghcr.io/gp/gateway', tag: 'no:colons' } }, /at '\/image\/tag': 'no:colons' does not match pattern/],
    ['a cull interval of 0', { culling: { interval: 0 } }, /at '\/culling\/interval': minimum: got 0, want 1/],
    ['a negative idle timeout', { culling: { idleTimeout: -5 } }, /at '\/culling\/idleTimeout': minimum: got -5, want 0/],
    ['an unknown value', { replica: 2 }, /additional properties 'replica' not allowed/],
    ['a bad kernel image', { kernelImagePuller: { enabled: true, images: ['Not An Image'] } }, /at '\/kernelImagePuller\/images\/0': 'Not An Image' does not match pattern/],
    ['an unknown template resource', { kernels: { templateResources: ['pods'] } }, /at '\/kernels\/templateResources\/0': value must be one of/],
    ['a negative kernel limit', { limits: { maxKernels: -1 } }, /at '\/limits\/maxKernels': minimum: got -1, want 0/],
    ['a TLS Secret name that is not a name', { tls: { enabled: true, secretName: 'Gateway TLS' } }, /at '\/tls\/secretName'/],
  ];
  // Refused by the templates' checks (`fail`): `helm template`/`install` fail; `helm lint` runs templates in lint
  // mode, where Helm turns `fail` into a log line carrying the message, and exits 0.
  const byTemplates: [string, object, RegExp][] = [
    ['a built-in kernel role', { kernels: { clusterRole: 'cluster-admin' } }, /kernels\.clusterRole "cluster-admin" is a built-in role/],
    ['"default" as the kernel service account', { kernels: { serviceAccount: 'default' } }, /kernels\.serviceAccount "default" would grant the kernel role to every pod/],
    ['a variable the chart sets, in extraConfig', { extraConfig: { GP_GATEWAY_TOKEN: 'x' } }, /extraConfig\.GP_GATEWAY_TOKEN is set by the chart/],
    ['a secret-like variable in extraConfig', { extraConfig: { MY_PASSWORD: 'x' } }, /extraConfig\.MY_PASSWORD looks like a secret/],
    ['the response port equal to the HTTP port', { responsePort: 8888 }, /responsePort 8888 must differ from service.port 8888/],
    ['BYO namespaces without byo (refused by @gp/rbac)', { byoNamespaces: ['team-a'] }, /refused by @gp\/rbac: Invalid value \["team-a"\] for byoNamespaces: expected no namespaces unless mode "byo" is enabled/],
    ['BYO namespaces with auto (refused by @gp/rbac)', { namespaceModes: ['byo', 'auto'], byoNamespaces: ['team-a'] }, /Invalid value \["team-a"\] for byoNamespaces: expected no namespaces with mode "auto"/],
    ['a kernel service account in auto mode only', { namespaceModes: ['auto'], kernels: { serviceAccount: 'kernel' } }, /Invalid value "kernel" for kernels\.serviceAccount: expected no kernel service account unless mode "shared"/],
    ['the release namespace among the BYO namespaces with shared', { namespaceModes: ['shared', 'byo'], byoNamespaces: ['RELEASE_NS'] }, /byoNamespaces lists the release namespace "gw-helm-[0-9a-f]+", which shared mode already covers/],
    ['the puller without images', { kernelImagePuller: { enabled: true, images: [] } }, /kernelImagePuller\.enabled is true but kernelImagePuller\.images is empty/],
    ['TLS without a Secret', { tls: { enabled: true } }, /tls\.enabled is true but tls\.secretName is empty/],
    ['client certificates without TLS', { tls: { clientCA: true, secretName: 'gateway-tls' } }, /tls\.clientCA is true but tls\.enabled is false/],
  ];
  for (const [title, rawValues, message] of [...bySchema, ...byTemplates]) {
    const schema = bySchema.some(([t]) => t === title);
    it(`refuses ${title}: helm template fails${schema ? ', helm lint fails' : ', helm lint logs it'}`, async () => {
      const values = JSON.parse(JSON.stringify(rawValues).replaceAll('RELEASE_NS', ns)) as object;
      const rendered = await helm(['template', RELEASE, CHART_DIR, '--namespace', ns], values);
      expect(rendered.code).not.toBe(0);
      expect(rendered.stderr).toMatch(message);
      expect(rendered.stdout).toBe('');
      const linted = await helm(['lint', CHART_DIR, '--namespace', ns], values);
      expect(linted.code).toBe(schema ? 1 : 0);
      // Lint's log lines quote the message with escaped quotes.
      expect((linted.stdout + linted.stderr).replaceAll('\\"', '"')).toMatch(message);
    });
  }
});
