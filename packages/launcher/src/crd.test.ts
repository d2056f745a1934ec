import { describe, expect, it, vi } from 'vitest';
import { readHostSettings } from './env.js';
import type { LaunchRequest } from './inputs.js';
import type { KubeClient, KubeRequest } from './kube.js';
import { launchCustomResource, planCustomResource } from './crd.js';

vi.mock('@gp/templates', () => import('./test-support/templates-stand-in.js'));

const KID = '3f1b8a6c-2d4e-4f5a-9b8c-7d6e5f4a3b2c';
const SPARK_APP = `apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata:
  name: {{ kernel_resource_name }}
spec:
  type: Python
  mode: cluster
  image: {{ kernel_image }}
  mainApplicationFile: local:///usr/local/bin/kernel-launchers/python/scripts/launch_ipykernel.py
  sparkVersion: 3.5.0
  arguments: ["--kernel-id", {{ kernel_id }}, "--public-key", {{ public_key }}]
  driver:
    serviceAccount: {{ kernel_service_account_name }}
    env:
      - name: FROM_TEMPLATE
        value: "1"
  executor:
    instances: 1
`;
const template = { name: 'sparkoperator.k8s.io-v1beta2.yaml.j2', source: SPARK_APP };

function request(hostEnv: Record<string, string> = {}): LaunchRequest {
  return {
    kernelId: KID,
    responseAddress: '10.0.0.5:8877',
    publicKey: 'QUJD',
    env: { KERNEL_USERNAME: 'alice', KERNEL_LANGUAGE: 'python', KERNEL_IMAGE: 'img:1' },
    settings: readHostSettings(hostEnv),
  };
}

function client(answer: (r: KubeRequest) => unknown): KubeClient & { calls: KubeRequest[] } {
  const calls: KubeRequest[] = [];
  return {
    server: 'https://test',
    calls,
    async request<T>(r: KubeRequest): Promise<T> {
      calls.push(r);
      return answer(r) as T;
    },
  };
}

describe('planCustomResource', () => {
  it('renders one SparkApplication with the kernel env on driver and executor', () => {
    const plan = planCustomResource(request(), { template });
    expect(plan.manifests).toHaveLength(1);
    const spec = plan.resource.spec as { driver: { env: { name: string }[] }; executor: { env: { name: string }[] } };
    expect(spec.driver.env[0]!.name).toBe('FROM_TEMPLATE');
    expect(spec.driver.env.map((e) => e.name)).toContain('RESPONSE_ADDRESS');
    expect(spec.executor.env.map((e) => e.name)).toContain('KERNEL_ID');
    expect(plan.handle.objects[0]).toMatchObject({ kind: 'SparkApplication', plural: 'sparkapplications', namespace: 'default' });
  });
  it('refuses other kinds in the CRD template', () => {
    expect(() => planCustomResource(request(), { template: { name: 't', source: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n' } })).toThrow(/SparkApplication/);
  });
});

describe('launchCustomResource', () => {
  it('says the Spark Operator is not installed when discovery does not know the group', async () => {
    const c = client((r) => {
      if (r.method === 'GET') throw { statusCode: 404, body: '{"kind":"Status","reason":"NotFound","message":"the server could not find the requested resource"}' };
      return r.body;
    });
    const err = await launchCustomResource(request({ GP_SHARED_NAMESPACE: 'false' }), { template, client: c }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'GP_CRD_NOT_INSTALLED' });
    expect((err as Error).message).toContain('the Spark Operator is not installed in this cluster');
    expect(c.calls.map((x) => x.method)).toEqual(['GET']); // nothing created, not even the automatic namespace
  });
  it('creates the resource in the kernel namespace', async () => {
    const c = client((r) => (r.method === 'GET' ? { resources: [{ name: 'sparkapplications' }] } : r.body));
    await launchCustomResource(request(), { template, client: c });
    expect(c.calls.map((x) => `${x.method} ${x.path}`)).toEqual([
      'GET /apis/sparkoperator.k8s.io/v1beta2',
      'POST /apis/sparkoperator.k8s.io/v1beta2/namespaces/default/sparkapplications',
    ]);
  });
});

describe('launchCustomResource restart in automatic mode', () => {
  const automatic = () => request({ GP_SHARED_NAMESPACE: 'false' });
  const exists = { statusCode: 409, body: '{"kind":"Status","reason":"AlreadyExists","message":"already exists","code":409}' };
  /** An API server where the kernel's namespace, service account and RoleBinding were kept from the first launch. */
  const kept = (namespaceLabels: Record<string, string>) =>
    client((r) => {
      if (r.method === 'GET' && r.path.startsWith('/apis/sparkoperator.k8s.io')) return { resources: [{ name: 'sparkapplications' }] };
      if (r.method === 'GET') return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: r.path.split('/').pop(), labels: namespaceLabels } };
      if (r.method === 'POST' && !r.path.includes('sparkapplications')) throw exists;
      return r.body;
    });

  it('reuses the namespace labelled for this kernel, its service account and RoleBinding, and creates the resource', async () => {
    const c = kept({ kernel_id: KID });
    const result = await launchCustomResource(automatic(), { template, client: c, restart: true });
    const ns = result.handle.namespace;
    expect(c.calls.map((x) => `${x.method} ${x.path}`)).toEqual([
      'GET /apis/sparkoperator.k8s.io/v1beta2',
      'POST /api/v1/namespaces',
      `GET /api/v1/namespaces/${ns}`,
      `POST /api/v1/namespaces/${ns}/serviceaccounts`,
      `POST /apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
      `POST /apis/sparkoperator.k8s.io/v1beta2/namespaces/${ns}/sparkapplications`,
    ]);
    expect(result.created.map((m) => m.kind)).toEqual(['SparkApplication']);
  });

  it('refuses a namespace of that name that belongs to another kernel, deleting nothing', async () => {
    const c = kept({ kernel_id: 'someone-else' });
    await expect(launchCustomResource(automatic(), { template, client: c, restart: true })).rejects.toMatchObject({ code: 'GP_NAMESPACE_CONFLICT' });
    expect(c.calls.filter((x) => x.method === 'DELETE' || x.path.includes('sparkapplications') && x.method === 'POST')).toEqual([]);
  });

  it('without restart, an existing namespace is a conflict error', async () => {
    const c = kept({ kernel_id: KID });
    await expect(launchCustomResource(automatic(), { template, client: c })).rejects.toMatchObject({ code: 'GP_K8S_CONFLICT' });
  });
});
