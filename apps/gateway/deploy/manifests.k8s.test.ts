/**
 * The deployment manifests against the real API server of the test cluster: every object, in every namespace
 * mode, is accepted by a server-side dry run with strict field validation (unknown or misspelt fields are
 * errors, not silently dropped); the gateway pod passes the "restricted" Pod Security admission; and the RBAC,
 * applied for real, lets the gateway's service account do what it needs and no more.
 */
import { useCluster } from '@gp/testkit';
import { applyObject, createObject, refusals } from './k8s-apply.js';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { AppsV1Api, CoreV1Api, PolicyV1Api } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { gatewayManifests, manifestsToYaml, type GatewayManifestOptions, type GatewayObject } from './manifests.js';
import { parseAllDocuments } from 'yaml';
import { readFileSync } from 'node:fs';
import { RENDERED_PATH } from './render.js';

const cluster = useCluster();

type AnyObject = { kind?: string; metadata?: { name?: string; namespace?: string } };

const create = (object: AnyObject, dryRun: boolean) => createObject(cluster.info, object, dryRun);

/** Dry-runs every object; resolves to the refusals as `kind/name: status message` (empty when all pass). */
const dryRunAll = (objects: readonly AnyObject[]) => refusals(objects, (o) => create(o, true));

function podFromDeployment(objects: readonly GatewayObject[], namespace: string, name: string): V1Pod {
  const deployment = objects.find((o) => o.kind === 'Deployment') as V1Deployment;
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: deployment.spec!.template.metadata!.labels }, spec: structuredClone(deployment.spec!.template.spec!) };
}

let ns: string;
let byoA: string;
let byoB: string;

beforeAll(async () => {
  ns = await cluster.createNamespace('gw-deploy');
  byoA = await cluster.createNamespace('gw-byo-a');
  byoB = await cluster.createNamespace('gw-byo-b');
});

describe('server-side dry run of every object', () => {
  const cases: [string, () => GatewayManifestOptions][] = [
    ['shared (the committed default)', () => ({})],
    ['shared with a kernel service account and a persistent store (one gateway, file store)', () => ({ kernelServiceAccount: 'kernel', kernelStore: 'file', stateVolumeSize: '1Gi' })],
    ['bring-your-own, cluster-wide', () => ({ modes: ['byo'] })],
    ['bring-your-own in listed namespaces, with shared', () => ({ modes: ['shared', 'byo'], byoNamespaces: [byoA, byoB], kernelServiceAccount: 'kernel' })],
    ['automatic', () => ({ modes: ['auto'] })],
    ['shared + automatic, Spark Operator, template resources, NodePort', () => ({ modes: ['shared', 'auto'], sparkOperator: true, templateResources: ['configmaps', 'secrets'], serviceType: 'NodePort' })],
  ];
  for (const [title, options] of cases) {
    it(`accepts ${title}`, async () => {
      const objects = gatewayManifests({ ...options(), namespace: ns, createNamespace: false });
      expect(objects.length).toBeGreaterThan(5);
      expect(await dryRunAll(objects)).toEqual([]);
    });
  }

  it('accepts the Namespace object (in a fresh name) and every object of the committed kubernetes.yaml', async () => {
    const fromFile = parseAllDocuments(readFileSync(RENDERED_PATH, 'utf8'), { version: '1.1' }).map((d) => d.toJS() as AnyObject);
    const namespaceObject = fromFile.find((o) => o.kind === 'Namespace')!;
    expect(await dryRunAll([{ ...namespaceObject, metadata: { ...namespaceObject.metadata, name: `${ns}-new` } }])).toEqual([]);
    // The rest, moved into the test namespace (the file's own namespace does not exist in the dry run).
    const rest = fromFile
      .filter((o) => o.kind !== 'Namespace')
      .map((o) => JSON.parse(JSON.stringify(o).replaceAll('"gp-gateway"', JSON.stringify(ns))) as AnyObject);
    expect(await dryRunAll(rest)).toEqual([]);
  });

  it('applies the committed kubernetes.yaml for real (server-side apply): 2 replicas, RollingUpdate, a PodDisruptionBudget', async () => {
    const applyNs = await cluster.createNamespace('gw-apply');
    const fromFile = parseAllDocuments(readFileSync(RENDERED_PATH, 'utf8'), { version: '1.1' })
      .map((d) => d.toJS() as AnyObject)
      .filter((o) => o.kind !== 'Namespace')
      .map((o) => JSON.parse(JSON.stringify(o).replaceAll('"gp-gateway"', JSON.stringify(applyNs))) as AnyObject);
    expect(await refusals(fromFile, (o) => applyObject(cluster.info, o, false))).toEqual([]);
    const apps = cluster.kc.makeApiClient(AppsV1Api);
    const deployment = await apps.readNamespacedDeployment({ namespace: applyNs, name: applyNs });
    expect(deployment.spec?.replicas).toBe(2);
    expect(deployment.spec?.strategy?.type).toBe('RollingUpdate');
    const pdb = await cluster.kc.makeApiClient(PolicyV1Api).readNamespacedPodDisruptionBudget({ namespace: applyNs, name: applyNs });
    expect(pdb.spec?.maxUnavailable).toBe(1);
  });

  it('can refuse: a misspelt field is an error under strict field validation', async () => {
    const objects = gatewayManifests({ namespace: ns, createNamespace: false });
    const deployment = structuredClone(objects.find((o) => o.kind === 'Deployment')) as V1Deployment & { spec: { replica?: number } };
    deployment.spec.replica = 2;
    const refused = await dryRunAll([deployment]);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/unknown field "spec.replica"/);
  });
});

describe('Pod Security', () => {
  it('the gateway pod passes "restricted" admission, and a pod without its security context does not', async () => {
    const restricted = await cluster.createNamespace('gw-restricted', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const objects = gatewayManifests({ namespace: restricted, createNamespace: false });
    // The ServiceAccount admission plugin needs the pod's service account to exist, so create it for real.
    const serviceAccount = objects.find((o) => o.kind === 'ServiceAccount')!;
    expect((await create(serviceAccount, false)).status).toBe(201);
    expect(await dryRunAll([podFromDeployment(objects, restricted, 'gateway')])).toEqual([]);

    const loose = podFromDeployment(objects, restricted, 'gateway-loose');
    delete loose.spec!.containers[0]!.securityContext;
    const refused = await dryRunAll([loose]);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/violates PodSecurity "restricted/);
  });
});

describe('RBAC applied for real', () => {
  it('lets the gateway service account manage kernel pods in its namespace and nothing it does not need', async () => {
    const objects = gatewayManifests({ name: 'gw', namespace: ns, createNamespace: false });
    for (const object of objects.filter((o) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(o.kind ?? ''))) {
      const { status, message } = await create(object, false);
      expect(status, message).toBe(201);
    }
    const kc = await cluster.kubeConfigForServiceAccount(ns, 'gw');
    const core = kc.makeApiClient(CoreV1Api);
    await cluster.waitFor(async () => {
      try {
        await core.listNamespacedPod({ namespace: ns });
        return true;
      } catch {
        return false; // RBAC caches catch up with the new binding
      }
    }, { timeoutMs: 30_000, description: 'the gateway service account to list pods' });
    await core.listNamespacedEvent({ namespace: ns });
    const pod = await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'kernel-probe' }, spec: { containers: [{ name: 'k', image: 'busybox', command: ['sleep', '30'] }] } }, dryRun: 'All' });
    expect(pod.metadata?.name).toBe('kernel-probe');

    const status = async (p: Promise<unknown>): Promise<number> => p.then(() => 200, (e: { code?: number }) => e.code ?? 0);
    // Secrets: only the kernel records in its own namespace (the state Role of --kernel-store kubernetes).
    expect(await status(core.listNamespacedSecret({ namespace: ns }))).toBe(200);
    expect(await status(core.listNamespacedSecret({ namespace: byoA }))).toBe(403);
    expect(await status(core.listNamespacedPod({ namespace: byoA }))).toBe(403);
    expect(await status(core.createNamespace({ body: { metadata: { name: `${ns}-by-gateway` } }, dryRun: 'All' }))).toBe(403);
  });
});

it('renders YAML that kubectl-style multi-document parsing reads back object for object', () => {
  const objects = gatewayManifests({ modes: ['shared', 'auto'], sparkOperator: true });
  const docs = parseAllDocuments(manifestsToYaml(objects), { version: '1.1' }).map((d) => d.toJS() as unknown);
  expect(docs).toEqual(JSON.parse(JSON.stringify(objects)));
});
