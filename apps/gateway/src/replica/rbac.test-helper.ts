// Test helpers: apply generated RBAC objects as the cluster admin, and ask the authorizer what an identity may do.
import { createKubeClient, type KubeClient } from '@gp/launcher';
import type { RbacObject } from '@gp/rbac';
import type { KubeConfig } from '@kubernetes/client-node';

const PLURALS: Record<RbacObject['kind'], string> = {
  ServiceAccount: 'serviceaccounts',
  Role: 'roles',
  ClusterRole: 'clusterroles',
  RoleBinding: 'rolebindings',
  ClusterRoleBinding: 'clusterrolebindings',
};

export async function applyRbac(admin: KubeClient, objects: RbacObject[]): Promise<void> {
  for (const o of objects) {
    const base = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`;
    const ns = o.metadata.namespace !== undefined ? `/namespaces/${o.metadata.namespace}` : '';
    await admin.request({ method: 'POST', path: `${base}${ns}/${PLURALS[o.kind]}`, body: o });
  }
}

/** Whether `kc`'s identity may `verb` `resource` in `namespace`, per the API server's authorizer. */
export async function canI(kc: KubeConfig, namespace: string, verb: string, resource: string, group = ''): Promise<boolean> {
  const review = await createKubeClient(kc).request<{ status?: { allowed?: boolean } }>({
    method: 'POST',
    path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb, resource, group, namespace } } },
  });
  return review.status?.allowed === true;
}
