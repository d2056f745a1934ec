// `@gp/testkit/host`: the cluster for a long-running host outside vitest (the gp-sandbox app), without the
// vitest helpers (`useCluster`), so importing it never loads vitest.
export { repoRoot } from './python.js';
export { ensureClusterBinary, ClusterBuildError } from './binary.js';
export type { BinaryOptions, ClusterBinary } from './binary.js';
export { startCluster, freePorts, ClusterStartError } from './cluster.js';
export type { StartClusterOptions, TestCluster } from './cluster.js';
export { ClusterClient } from './client.js';
export type { ClusterInfo, ImageSpec } from './client.js';
