import { AuthorizationError, GpError } from '@gp/core';
import { describe, expect, it } from 'vitest';
import { readHostSettings } from './env.js';
import { ManifestError } from './errors.js';
import { resolveLaunch, type ResolvedLaunch } from './inputs.js';
import {
  automaticNamespaceManifests,
  checkDocuments,
  checkRequestVolumes,
  type Manifest,
  mergeEnv,
  ownedByPod,
  POD_TEMPLATE_KINDS,
  preparePod,
} from './manifests.js';

const KID = '3f1b8a6c-2d4e-4f5a-9b8c-7d6e5f4a3b2c';

function resolved(hostEnv: Record<string, string> = {}): ResolvedLaunch {
  return resolveLaunch({
    kernelId: KID,
    responseAddress: '10.0.0.5:8877',
    publicKey: 'QUJD',
    env: { KERNEL_USERNAME: 'alice', KERNEL_LANGUAGE: 'python', KERNEL_IMAGE: 'img:1', KERNEL_EXTRA: 'x' },
    settings: readHostSettings(hostEnv),
  });
}

function pod(r: ResolvedLaunch, extra: Partial<Manifest> = {}): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: r.podName, labels: { kernel_id: r.kernelId, app: 'gateway-provisioners', component: 'kernel' } },
    spec: {
      serviceAccountName: r.serviceAccountName,
      securityContext: { runAsUser: 1000, runAsGroup: 100 },
      containers: [{ name: 'kernel', image: 'img:1', env: [{ name: 'TEMPLATE_VAR', value: 't' }, { name: 'KERNEL_ID', value: 'spoofed' }] }],
    },
    ...extra,
  };
}

function thrown(fn: () => unknown): GpError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GpError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('checkDocuments', () => {
  const r = resolved();
  it('accepts allowed kinds and sets the namespace', () => {
    const docs = checkDocuments([pod(r), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } }], POD_TEMPLATE_KINDS, 'default', 't');
    expect(docs.map((d) => d.metadata.namespace)).toEqual(['default', 'default']);
  });
  it.each([
    [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }, /kind "Namespace"/],
    [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'x' } }, /ClusterRoleBinding/],
    [{ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'x' } }, /PersistentVolume/],
    [{ apiVersion: 'apps/v1', kind: 'Pod', metadata: { name: 'x' } }, /apiVersion "apps\/v1"/],
    [{ kind: 'Secret', metadata: { name: 'x' } }, /apiVersion/],
    [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'Bad_Name' } }, /metadata.name/],
    [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'kube-system' } }, /kube-system/],
    [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', labels: { a: 1 } } }, /labels/],
    ['just a string', /not a mapping/],
    [[1, 2], /not a mapping/],
  ])('refuses %j', (doc, re) => {
    const e = thrown(() => checkDocuments([doc], POD_TEMPLATE_KINDS, 'default', 't'));
    expect(e).toBeInstanceOf(ManifestError);
    expect(e.message).toMatch(re);
  });
  it('drops null-valued keys (an empty YAML block means absent)', () => {
    const [d] = checkDocuments([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: null }, spec: { volumes: null, containers: [{ name: 'c', env: null }] } }], POD_TEMPLATE_KINDS, 'ns', 't');
    expect(d).toEqual({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [{ name: 'c' }] } });
  });
  it('refuses an empty rendering', () => {
    expect(() => checkDocuments([], POD_TEMPLATE_KINDS, 'default', 't')).toThrow(ManifestError);
  });
});

describe('preparePod', () => {
  it('puts the launcher env in the first container, overriding the template, and nothing from the host', () => {
    const r = resolved();
    const p = preparePod(pod(r), r, 't');
    const env = (p.spec as { containers: { env: { name: string; value: string }[] }[] }).containers[0]!.env;
    const names = env.map((e) => e.name);
    expect(names[0]).toBe('TEMPLATE_VAR');
    expect(names.filter((n) => n === 'KERNEL_ID')).toHaveLength(1);
    expect(env.find((e) => e.name === 'KERNEL_ID')?.value).toBe(KID);
    expect(names).toEqual(expect.arrayContaining(['RESPONSE_ADDRESS', 'PUBLIC_KEY', 'PORT_RANGE', 'KERNEL_LANGUAGE', 'KERNEL_USERNAME', 'KERNEL_NAMESPACE', 'KERNEL_EXTRA']));
    expect(names.some((n) => n === 'PATH' || n === 'HOME' || n.startsWith('GP_') || n.startsWith('KUBE'))).toBe(false);
  });
  it('adds missing kernel labels and the service account', () => {
    const r = resolved();
    const p = pod(r);
    p.metadata.labels = { app: 'x' };
    delete (p.spec as Record<string, unknown>).serviceAccountName;
    const out = preparePod(p, r, 't');
    expect(out.metadata.labels).toEqual({ app: 'x', kernel_id: KID, component: 'kernel' });
    expect((out.spec as Record<string, unknown>).serviceAccountName).toBe('default');
  });
  it.each([
    ['a different name', (p: Manifest): unknown => (p.metadata.name = 'other'), ManifestError],
    ['a different kernel_id label', (p: Manifest): unknown => (p.metadata.labels!.kernel_id = 'other'), ManifestError],
    ['component=worker', (p: Manifest): unknown => (p.metadata.labels!.component = 'worker'), ManifestError],
    ['another service account', (p: Manifest): unknown => ((p.spec as Record<string, unknown>).serviceAccountName = 'admin'), ManifestError],
    ['no containers', (p: Manifest): unknown => ((p.spec as Record<string, unknown>).containers = []), ManifestError],
    ['root pod uid', (p: Manifest): unknown => ((p.spec as Record<string, unknown>).securityContext = { runAsUser: 0 }), AuthorizationError],
    [
      'root container gid',
      (p: Manifest): unknown => ((p.spec as { containers: Record<string, unknown>[] }).containers[0]!.securityContext = { runAsGroup: 0 }),
      AuthorizationError,
    ],
  ] as const)('refuses a pod with %s', (_, mutate, type) => {
    const r = resolved();
    const p = pod(r);
    mutate(p);
    expect(() => preparePod(p, r, 't')).toThrow(type);
  });
});

describe('mergeEnv', () => {
  it('keeps valueFrom entries and refuses malformed env', () => {
    const out = mergeEnv([{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }], { B: 'b' });
    expect(out).toEqual([{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }, { name: 'B', value: 'b' }]);
    expect(() => mergeEnv('x', {})).toThrow(ManifestError);
    expect(() => mergeEnv([{ value: 'x' }], {})).toThrow(ManifestError);
  });
});

describe('automatic namespace objects', () => {
  it('binds the kernel cluster role to the created service account', () => {
    const r = resolved({ GP_SHARED_NAMESPACE: 'false' });
    const [ns, sa, rb] = automaticNamespaceManifests(r);
    expect(ns).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: r.namespace, labels: { app: 'gateway-provisioners', component: 'kernel', kernel_id: KID } } });
    expect(sa?.metadata).toMatchObject({ name: 'kernel', namespace: r.namespace });
    expect(rb).toMatchObject({
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kernel-controller' },
      subjects: [{ kind: 'ServiceAccount', name: 'kernel', namespace: r.namespace }],
    });
  });
});

describe('ownedByPod', () => {
  it('adds a controller reference to the pod', () => {
    const doc: Manifest = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } };
    const out = ownedByPod(doc, { metadata: { name: 'p', uid: 'u-1' } });
    expect(out.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'u-1', controller: true }]);
    expect(doc.metadata.ownerReferences).toBeUndefined();
  });
});

describe('checkRequestVolumes', () => {
  it('refuses hostPath unless allowed', () => {
    const vols = [{ name: 'root', hostPath: { path: '/' } }];
    expect(() => checkRequestVolumes(vols, false)).toThrow(AuthorizationError);
    expect(() => checkRequestVolumes(vols, true)).not.toThrow();
    expect(() => checkRequestVolumes([{ name: 'd', emptyDir: {} }], false)).not.toThrow();
  });
});
