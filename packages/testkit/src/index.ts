export * from './python.js';
export { ensureClusterBinary, kubernetesVersion, clusterBinaryKey, clusterLdflags, clusterCacheDir, clusterModuleDir, ClusterBuildError } from './binary.js';
export type { BinaryOptions, ClusterBinary } from './binary.js';
export { startCluster, sweepStaleClusters, freePorts, adminRequest, ClusterStartError, DEFAULT_NODE_CAPACITY } from './cluster.js';
export type { StartClusterOptions, TestCluster } from './cluster.js';
export { ClusterClient, waitFor, WaitTimeoutError, writeImageTable, readImageTable } from './client.js';
export type { ClusterInfo, ImageSpec, Identity, WaitOptions } from './client.js';
export { useCluster, connectCluster } from './vitest.js';
export * from './jupyter-client.js';
