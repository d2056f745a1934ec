/**
 * A namespace's Spark service account for tests: the rights Spark's driver uses (pods, services, config maps,
 * persistent volume claims, network policies in its namespace) and a kubeconfig file with its token, for spark-submit. (Spark's
 * Kubernetes client, fabric8, cannot read the test cluster's EC client keys, so Spark tests authenticate with
 * service-account tokens, as a gateway in a pod does.)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { ClusterClient } from '../client.js';

export interface SparkAccount {
  serviceAccountName: string;
  /** A kubeconfig file (token of the service account, the cluster's CA), mode 0600, in the cluster's dir. */
  kubeconfigPath: string;
}

export async function createSparkAccount(cluster: ClusterClient, namespace: string, name = 'spark'): Promise<SparkAccount> {
  const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
  await cluster.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name },
      rules: [
        { apiGroups: [''], resources: ['pods', 'services', 'configmaps', 'persistentvolumeclaims'], verbs: ['create', 'get', 'list', 'watch', 'delete', 'deletecollection', 'patch', 'update'] },
        { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
        // Spark 4 applies a NetworkPolicy per application (ingress to its pods from its own pods only).
        { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['create', 'get', 'list', 'watch', 'delete', 'patch', 'update'] },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  });
  const kc = await cluster.kubeConfigForServiceAccount(namespace, name);
  // In the cluster's dir: removed with the cluster, so no token file outlives it.
  const kubeconfigPath = join(cluster.info.dir, `spark-${namespace}-${name}.kubeconfig`);
  writeFileSync(kubeconfigPath, kc.exportConfig(), { mode: 0o600 });
  return { serviceAccountName: name, kubeconfigPath };
}
