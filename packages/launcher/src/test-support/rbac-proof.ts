// Helpers for the RBAC proof (rbac.k8s.test.ts): apply ONLY the generated objects as the cluster admin, act as
// the generated service account, ask the authorizer what an identity may do, and recognise a 403.
import type { ClusterClient } from '@gp/testkit';
import { expect } from 'vitest';
import { rbacManifests, type RbacObject, type RbacOptions, type RuleTables } from '@gp/rbac';
import { createKubeClient, type KubeClient } from '../index.js';

export type KubeConfig = ClusterClient['kc'];

/** An identity holding exactly what the applied objects grant. */
export interface Identity {
  kc: KubeConfig;
  client: KubeClient;
  /** `system:serviceaccount:<ns>:<name>`, as the API server names it in 403 messages. */
  user: string;
}

/** `resourceAttributes` of a SelfSubjectAccessReview. */
export interface Access {
  verb: string;
  group?: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

const PLURALS: Record<RbacObject['kind'], string> = {
  ServiceAccount: 'serviceaccounts',
  Role: 'roles',
  ClusterRole: 'clusterroles',
  RoleBinding: 'rolebindings',
  ClusterRoleBinding: 'clusterrolebindings',
};

function collectionPath(o: RbacObject): string {
  const base = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`;
  const ns = o.metadata.namespace !== undefined ? `/namespaces/${o.metadata.namespace}` : '';
  return `${base}${ns}/${PLURALS[o.kind]}`;
}

/** Resources whose rules are cluster-scoped (a SelfSubjectAccessReview for them names no namespace). */
const CLUSTER_RESOURCES = new Set(['namespaces', 'clusterroles']);

/** Whether `client`'s identity may do `access`, according to the API server's authorizer. */
export async function allowed(client: KubeClient, access: Access): Promise<boolean> {
  const review = await client.request<{ status?: { allowed?: boolean } }>({
    method: 'POST',
    path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { group: '', ...access } } },
  });
  return review.status?.allowed === true;
}

export class RbacProof {
  readonly admin: KubeClient;
  /** ClusterRoles and ClusterRoleBindings applied so far (namespaced objects go with the test namespaces). */
  private readonly clusterScoped: RbacObject[] = [];

  constructor(private readonly cluster: ClusterClient) {
    this.admin = createKubeClient(cluster.kc);
  }

  /**
   * Applies `rbacManifests(options, tables)` as the cluster admin, and nothing else, then returns the application
   * service account's identity (a real TokenRequest token) once the authorizer has seen its binding.
   */
  async host(options: RbacOptions & { appName: string; namespace: string }, tables: RuleTables = {}): Promise<Identity> {
    return this.hostFrom(rbacManifests(options, tables));
  }

  /** The same for objects produced elsewhere (e.g. parsed from `k8s-spec rbac -o json`). */
  async hostFrom(objects: RbacObject[]): Promise<Identity> {
    for (const o of objects) {
      if (o.metadata.namespace === undefined) this.clusterScoped.push(o);
      await this.admin.request({ method: 'POST', path: collectionPath(o), body: o });
    }
    const account = objects[0];
    if (account?.kind !== 'ServiceAccount' || account.metadata.namespace === undefined) throw new Error('the manifests must start with the application ServiceAccount');
    const kc = await this.cluster.kubeConfigForServiceAccount(account.metadata.namespace, account.metadata.name);
    const identity: Identity = { kc, client: createKubeClient(kc), user: `system:serviceaccount:${account.metadata.namespace}:${account.metadata.name}` };
    await this.untilBound(identity, objects);
    return identity;
  }

  /** The identity of a service account the objects (or the launcher) bound, e.g. a kernel's. */
  async serviceAccount(namespace: string, name: string): Promise<Identity> {
    const kc = await this.cluster.kubeConfigForServiceAccount(namespace, name);
    return { kc, client: createKubeClient(kc), user: `system:serviceaccount:${namespace}:${name}` };
  }

  /**
   * The RBAC authorizer learns about new roles and bindings through its informers: wait until it allows the first
   * verb of the application role, so a 403 later means "not granted", never "not seen yet".
   */
  private async untilBound(identity: Identity, objects: RbacObject[]): Promise<void> {
    const binding = objects.find((o) => (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') && o.metadata.labels?.component !== 'kernel');
    if (!binding || !('roleRef' in binding)) throw new Error('no application binding among the generated objects');
    const role = objects.find((o) => (o.kind === 'Role' || o.kind === 'ClusterRole') && o.metadata.name === binding.roleRef.name);
    const rule = role && 'rules' in role ? role.rules[0] : undefined;
    if (!rule?.resources?.[0] || !rule.verbs[0]) throw new Error(`the application role ${binding.roleRef.name} has no rule to probe`);
    const resource = rule.resources[0];
    const access: Access = {
      verb: rule.verbs[0],
      group: rule.apiGroups?.[0] ?? '',
      resource,
      ...(CLUSTER_RESOURCES.has(resource) ? {} : { namespace: binding.metadata.namespace ?? (objects[0]?.metadata.namespace as string) }),
      ...(rule.resourceNames?.[0] ? { name: rule.resourceNames[0] } : {}),
    };
    await this.cluster.waitFor(() => allowed(identity.client, access), { timeoutMs: 30_000, description: `${identity.user} to be allowed ${access.verb} ${resource}` });
  }

  /** Deletes the cluster-scoped objects applied so far. */
  async cleanup(): Promise<void> {
    for (const o of this.clusterScoped.splice(0).reverse()) {
      await this.admin.request({ method: 'DELETE', path: `${collectionPath(o)}/${o.metadata.name}` }).catch(() => undefined);
    }
  }
}

/** What a refused call carries: the launcher's KubernetesApiError and the watch's KubeApiError both have these. */
interface RefusedCall {
  code?: string;
  statusCode?: number;
  reason?: string;
  kubernetesMessage?: string;
  apiMessage?: string;
}

/**
 * Runs `step` and expects it to fail with the API server's 403 (reason Forbidden) for exactly the refused call
 * `message` describes (e.g. `cannot delete resource "pods"`), not for anything else. Returns the error.
 */
export async function expectForbidden(step: () => Promise<unknown>, message: RegExp): Promise<RefusedCall> {
  const outcome = await step().then(
    () => ({ ok: true as const }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected the step to fail with 403 (${message}), but it succeeded`);
  const e = outcome.error as RefusedCall;
  expect(e, String(outcome.error)).toMatchObject({ statusCode: 403, reason: 'Forbidden' });
  expect(e.kubernetesMessage ?? e.apiMessage).toMatch(message);
  return e;
}
