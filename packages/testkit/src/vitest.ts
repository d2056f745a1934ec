import { afterAll, inject } from 'vitest';
import { ClusterClient, type ClusterInfo } from './client.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test cluster started by @gp/testkit's global setup (k8s project). */
    gpCluster: ClusterInfo;
  }
}

/**
 * Connects to the cluster the k8s project's global setup started. Call it at the top of a
 * `*.k8s.test.ts` file (or in a describe block): namespaces made with `createNamespace`
 * are deleted after the file's tests.
 */
export function useCluster(): ClusterClient {
  const client = connectCluster();
  afterAll(() => client.cleanup());
  return client;
}

/** Like `useCluster()` without registering cleanup (call `client.cleanup()` yourself). */
export function connectCluster(): ClusterClient {
  const info = inject('gpCluster');
  if (!info) {
    throw new Error(
      "No test cluster: run this file in vitest's 'k8s' project (files named *.k8s.test.ts), whose global setup starts it.",
    );
  }
  return new ClusterClient(info);
}
