/**
 * Test helper: send rendered objects to the test cluster's API server as the admin, with strict field
 * validation (an unknown or misspelt field is an error, not silently dropped), by POST (create) or by
 * server-side apply, optionally as a dry run. Used by manifests.k8s.test.ts and helm.k8s.test.ts.
 */
import { adminRequest, type ClusterInfo } from '@gp/testkit';

/** REST collection path of each kind the deployment manifests and the chart emit. */
export const RESOURCES: Record<string, { prefix: string; plural: string; namespaced: boolean }> = {
  Namespace: { prefix: '/api/v1', plural: 'namespaces', namespaced: false },
  ServiceAccount: { prefix: '/api/v1', plural: 'serviceaccounts', namespaced: true },
  ConfigMap: { prefix: '/api/v1', plural: 'configmaps', namespaced: true },
  Service: { prefix: '/api/v1', plural: 'services', namespaced: true },
  PersistentVolumeClaim: { prefix: '/api/v1', plural: 'persistentvolumeclaims', namespaced: true },
  Pod: { prefix: '/api/v1', plural: 'pods', namespaced: true },
  Deployment: { prefix: '/apis/apps/v1', plural: 'deployments', namespaced: true },
  DaemonSet: { prefix: '/apis/apps/v1', plural: 'daemonsets', namespaced: true },
  PodDisruptionBudget: { prefix: '/apis/policy/v1', plural: 'poddisruptionbudgets', namespaced: true },
  Role: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'roles', namespaced: true },
  RoleBinding: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'rolebindings', namespaced: true },
  ClusterRole: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterrolebindings', namespaced: false },
};

export type AnyObject = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } };

export function collectionPath(object: AnyObject): string {
  const resource = RESOURCES[object.kind ?? ''];
  if (!resource) throw new Error(`no REST path for kind ${object.kind}`);
  return resource.namespaced ? `${resource.prefix}/namespaces/${object.metadata!.namespace}/${resource.plural}` : `${resource.prefix}/${resource.plural}`;
}

function messageOf(status: number, body: string): string {
  if (status < 300) return '';
  try {
    return (JSON.parse(body) as { message?: string }).message ?? body;
  } catch {
    return body;
  }
}

/** POSTs the object; `dryRun` validates and admits it without persisting. */
export async function createObject(info: ClusterInfo, object: AnyObject, dryRun: boolean): Promise<{ status: number; message: string }> {
  const query = `fieldValidation=Strict${dryRun ? '&dryRun=All' : ''}`;
  const res = await adminRequest(info, 'POST', `${collectionPath(object)}?${query}`, object);
  return { status: res.status, message: messageOf(res.status, res.body) };
}

/** Server-side apply (`kubectl apply --server-side` does the same PATCH), as field manager `helm`. */
export async function applyObject(info: ClusterInfo, object: AnyObject, dryRun: boolean): Promise<{ status: number; message: string }> {
  const query = `fieldManager=helm&force=true&fieldValidation=Strict${dryRun ? '&dryRun=All' : ''}`;
  const path = `${collectionPath(object)}/${encodeURIComponent(object.metadata?.name ?? '')}?${query}`;
  const res = await adminRequest(info, 'PATCH', path, object, 'application/apply-patch+yaml');
  return { status: res.status, message: messageOf(res.status, res.body) };
}

/** Sends every object; resolves to the refusals as `kind/name: status message` (empty when all pass). */
export async function refusals(
  objects: readonly AnyObject[],
  send: (object: AnyObject) => Promise<{ status: number; message: string }>,
): Promise<string[]> {
  const refused: string[] = [];
  for (const object of objects) {
    const { status, message } = await send(object);
    if (status !== 201 && status !== 200) refused.push(`${object.kind}/${object.metadata?.name}: ${status} ${message}`);
  }
  return refused;
}
