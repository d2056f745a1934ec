/** Which cluster and credentials a KubeConfig stands for (shared watches and request observers are keyed by it). */
import { createHash } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * Which cluster and credentials a KubeConfig stands for: server, context, user name and a digest of
 * the user's credential fields (never the credentials themselves), so two KubeConfig objects loaded
 * from the same file (or in-cluster) share watches and two identities never do.
 */
export function kubeConfigIdentity(kc: KubeConfig): string {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  const digest = createHash('sha256').update(JSON.stringify(user ?? {})).digest('hex').slice(0, 16);
  return `${cluster?.server ?? '?'}|${cluster?.skipTLSVerify ? 'insecure' : 'tls'}|${kc.getCurrentContext()}|${user?.name ?? '?'}|${digest}`;
}

