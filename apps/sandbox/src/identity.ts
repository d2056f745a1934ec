/**
 * Who gp-gateway is on the embedded cluster: the ServiceAccount and least-privilege role `@gp/rbac` generates for
 * the shared namespace mode (what `k8s-spec rbac` prints for a real cluster), with a TokenRequest token. Also the
 * admin kubeconfig `--kubeconfig` hands to kubectl.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthorizationV1Api, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { rbacManifests } from '@gp/rbac';
import type { ClusterClient } from '@gp/testkit/host';

export const GATEWAY_APP_NAME = 'gp-gateway';
/** The namespace kernels run in (shared mode), so `kubectl get pods` shows them without -n. */
export const KERNEL_NAMESPACE = 'default';
/** The gateway's token lives as long as a sandbox reasonably runs; the sandbox is gone long before. */
const TOKEN_SECONDS = 7 * 24 * 3600;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates the gateway's ServiceAccount, Role and RoleBinding and waits until the authorizer applies them. */
export async function createGatewayRbac(cluster: ClusterClient): Promise<string> {
  const api = KubernetesObjectApi.makeApiClient(cluster.kc);
  for (const object of rbacManifests({ appName: GATEWAY_APP_NAME, namespace: KERNEL_NAMESPACE, modes: ['shared'] })) {
    await api.create(object as unknown as KubernetesObject);
  }
  const user = `system:serviceaccount:${KERNEL_NAMESPACE}:${GATEWAY_APP_NAME}`;
  const authz = cluster.kc.makeApiClient(AuthorizationV1Api);
  // RBAC reaches the authorizer's cache through a watch: ask until it allows the gateway to create pods.
  for (let i = 0; ; i++) {
    const review = await authz.createSubjectAccessReview({
      body: { spec: { user, groups: ['system:serviceaccounts', `system:serviceaccounts:${KERNEL_NAMESPACE}`, 'system:authenticated'], resourceAttributes: { namespace: KERNEL_NAMESPACE, verb: 'create', resource: 'pods' } } },
    });
    if (review.status?.allowed) return user;
    if (i >= 300) throw new Error(`the RBAC for ${user} was created but the API server still does not allow it to create pods`);
    await sleep(100);
  }
}

function kubeconfigYaml(server: string, caData: string, user: string, credentials: Record<string, string>): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: gp-sandbox',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${caData}`,
    'users:',
    `- name: ${JSON.stringify(user)}`,
    '  user:',
    ...Object.entries(credentials).map(([k, v]) => `    ${k}: ${v}`),
    'contexts:',
    '- name: gp-sandbox',
    '  context:',
    '    cluster: gp-sandbox',
    `    user: ${JSON.stringify(user)}`,
    `    namespace: ${KERNEL_NAMESPACE}`,
    'current-context: gp-sandbox',
    '',
  ].join('\n');
}

const b64 = (path: string) => readFileSync(path).toString('base64');

/** A kubeconfig (mode 0600) for the gateway's ServiceAccount, with a token from the TokenRequest API. */
export async function writeGatewayKubeconfig(cluster: ClusterClient, path: string): Promise<void> {
  const tr = await cluster.core.createNamespacedServiceAccountToken({
    namespace: KERNEL_NAMESPACE,
    name: GATEWAY_APP_NAME,
    body: { spec: { audiences: [], expirationSeconds: TOKEN_SECONDS } },
  });
  const token = tr.status?.token;
  if (!token) throw new Error(`the TokenRequest for ${KERNEL_NAMESPACE}/${GATEWAY_APP_NAME} returned no token`);
  const user = `system:serviceaccount:${KERNEL_NAMESPACE}:${GATEWAY_APP_NAME}`;
  writeFileSync(path, kubeconfigYaml(cluster.apiServerUrl, b64(join(cluster.info.pkiDir, 'ca.crt')), user, { token }), { mode: 0o600 });
}

/** A self-contained admin kubeconfig (mode 0600) for kubectl. */
export function writeAdminKubeconfig(cluster: ClusterClient, path: string): void {
  const pki = cluster.info.pkiDir;
  writeFileSync(
    path,
    kubeconfigYaml(cluster.apiServerUrl, b64(join(pki, 'ca.crt')), 'gp-sandbox-admin', {
      'client-certificate-data': b64(join(pki, 'admin.crt')),
      'client-key-data': b64(join(pki, 'admin.key')),
    }),
    { mode: 0o600 },
  );
}
