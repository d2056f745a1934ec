import { describe, expect, it, vi } from 'vitest';
import { GpError } from '@gp/core';
import { readHostSettings } from './env.js';
import type { LaunchRequest } from './inputs.js';
import type { KubeClient, KubeRequest } from './kube.js';
import { deleteKernelResources, launchKernelResources, planKernelResources } from './launch.js';
import { PENDING_UID } from './manifests.js';
import { POD_TEMPLATE } from './test-support/templates-stand-in.js';

vi.mock('@gp/templates', () => import('./test-support/templates-stand-in.js'));

const KID = '3f1b8a6c-2d4e-4f5a-9b8c-7d6e5f4a3b2c';
const template = { name: 'kernel-pod.yaml.j2', source: POD_TEMPLATE };

function request(env: Record<string, string> = {}, hostEnv: Record<string, string> = {}): LaunchRequest {
  return {
    kernelId: KID,
    responseAddress: '10.0.0.5:8877',
    publicKey: 'QUJD',
    env: { KERNEL_USERNAME: 'alice', KERNEL_LANGUAGE: 'python', KERNEL_IMAGE: 'img:1', ...env },
    settings: readHostSettings(hostEnv),
  };
}

/** Records calls; answers creates with the body plus a uid; fails the call matching `failOn`. */
function recorder(failOn?: (r: KubeRequest) => boolean): KubeClient & { calls: KubeRequest[] } {
  const calls: KubeRequest[] = [];
  return {
    server: 'https://test',
    calls,
    async request<T>(r: KubeRequest): Promise<T> {
      calls.push(r);
      if (failOn?.(r)) throw { statusCode: 403, body: JSON.stringify({ reason: 'Forbidden', message: 'no' }) };
      if (r.method === 'POST') return { ...(r.body as object), metadata: { ...(r.body as { metadata: object }).metadata, uid: `uid-${calls.length}` } } as T;
      return {} as T;
    },
  };
}

const summary = (calls: KubeRequest[]) => calls.map((c) => `${c.method} ${c.path}${c.query?.dryRun ? ' dry' : ''}`);

describe('planKernelResources', () => {
  it('plans the pod and its companion in the shared namespace', () => {
    const plan = planKernelResources(request({ KERNEL_USERNAME: 'alice: {evil: true}' }), { template });
    expect(plan.manifests.map((m) => `${m.kind}/${m.metadata.namespace}/${m.metadata.name}`)).toEqual([
      `Pod/default/alice-evil-true-${KID}`,
      `ConfigMap/default/alice-evil-true-${KID}`,
    ]);
    expect(plan.manifests[1]!.data).toEqual({ user: 'alice: {evil: true}' });
    expect(plan.manifests[1]!.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Pod', uid: PENDING_UID });
    expect(plan.handle).toMatchObject({ namespaceMode: 'shared', deleteNamespace: false });
  });
  it('refuses a hostPath KERNEL_VOLUMES', () => {
    expect(() => planKernelResources(request({ KERNEL_VOLUMES: '[{"name":"h","hostPath":{"path":"/"}}]' }), { template })).toThrow(/hostPath/);
  });
  it('refuses templates rendering no pod or two pods', () => {
    const noPod = { name: 't', source: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n' };
    expect(() => planKernelResources(request(), { template: noPod })).toThrow(/exactly one Pod/);
    const twoPods = { name: 't', source: POD_TEMPLATE.split('---')[0] + '---\n' + POD_TEMPLATE.split('---')[0] };
    expect(() => planKernelResources(request(), { template: twoPods })).toThrow(GpError);
  });
});

describe('launchKernelResources', () => {
  it('dry-runs, then creates the pod, then the owned companions', async () => {
    const client = recorder();
    const result = await launchKernelResources(request(), { template, client });
    expect(summary(client.calls)).toEqual([
      'POST /api/v1/namespaces/default/pods dry',
      'POST /api/v1/namespaces/default/configmaps dry',
      'POST /api/v1/namespaces/default/pods',
      'POST /api/v1/namespaces/default/configmaps',
    ]);
    expect(client.calls.every((c) => c.query?.fieldValidation === 'Strict')).toBe(true);
    const cm = client.calls[3]!.body as { metadata: { ownerReferences: { uid: string }[] } };
    expect(cm.metadata.ownerReferences[0]!.uid).toBe('uid-3');
    expect(result.created).toHaveLength(2);
  });

  it('creates the automatic namespace objects first and deletes the namespace when a later step fails', async () => {
    const client = recorder((r) => r.method === 'POST' && r.path.endsWith('/pods') && !r.query?.dryRun);
    const err = await launchKernelResources(request({}, { GP_SHARED_NAMESPACE: 'false' }), { template, client }).catch((e: unknown) => e);
    expect((err as GpError).code).toBe('GP_K8S_FORBIDDEN');
    const ns = `alice-${KID}`;
    expect(summary(client.calls)).toEqual([
      'POST /api/v1/namespaces',
      `POST /api/v1/namespaces/${ns}/serviceaccounts`,
      `POST /apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
      `POST /api/v1/namespaces/${ns}/pods dry`,
      `POST /api/v1/namespaces/${ns}/configmaps dry`,
      `POST /api/v1/namespaces/${ns}/pods`,
      `DELETE /api/v1/namespaces/${ns}`,
    ]);
  });

  it('creates nothing when the dry run is refused', async () => {
    const client = recorder((r) => r.path.endsWith('/configmaps'));
    await expect(launchKernelResources(request(), { template, client })).rejects.toThrow(/Forbidden/);
    expect(client.calls.filter((c) => c.method === 'POST' && !c.query?.dryRun)).toHaveLength(0);
    expect(client.calls.filter((c) => c.method === 'DELETE')).toHaveLength(0);
  });

  it('removes the pod when a companion fails in a shared namespace', async () => {
    const client = recorder((r) => r.path.endsWith('/configmaps') && !r.query?.dryRun);
    await expect(launchKernelResources(request(), { template, client })).rejects.toThrow(GpError);
    expect(summary(client.calls).slice(-1)).toEqual([`DELETE /api/v1/namespaces/default/pods/alice-${KID}`]);
  });
});

describe('deleteKernelResources', () => {
  it('deletes the pod (grace 0, companions follow by ownerReference), then the automatic namespace; 404s count as gone', async () => {
    const plan = planKernelResources(request({}, { GP_SHARED_NAMESPACE: 'false' }), { template });
    const client = recorder();
    const calls: KubeRequest[] = client.calls;
    const gone: KubeClient = {
      server: client.server,
      request: async <T>(r: KubeRequest) => {
        if (r.path.includes('/pods/')) {
          calls.push(r);
          throw { statusCode: 404, body: '{"reason":"NotFound"}' };
        }
        return client.request<T>(r);
      },
    };
    const deleted = await deleteKernelResources(plan.handle, { client: gone });
    const ns = `alice-${KID}`;
    expect(summary(calls)).toEqual([`DELETE /api/v1/namespaces/${ns}/pods/${ns}`, `DELETE /api/v1/namespaces/${ns}`]);
    expect(calls[0]!.query).toMatchObject({ gracePeriodSeconds: 0, propagationPolicy: 'Background' });
    expect(deleted.map((r) => r.kind)).toEqual(['Namespace']);
  });
  it('keeps the namespace for a restart, and never deletes a shared namespace', async () => {
    const auto = planKernelResources(request({}, { GP_SHARED_NAMESPACE: 'false' }), { template });
    const client = recorder();
    await deleteKernelResources(auto.handle, { client, keepNamespace: true });
    const shared = planKernelResources(request(), { template });
    await deleteKernelResources(shared.handle, { client });
    expect(summary(client.calls)).toEqual([`DELETE /api/v1/namespaces/alice-${KID}/pods/alice-${KID}`, `DELETE /api/v1/namespaces/default/pods/alice-${KID}`]);
  });
});
