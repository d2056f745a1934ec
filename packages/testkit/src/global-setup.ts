// Vitest global setup for the `k8s` project: starts the test control plane (building the
// gp-testcluster binary first if it is not cached) and provides its ClusterInfo to tests.
import type { TestProject } from 'vitest/node';
import { startCluster } from './cluster.js';
import './vitest.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startCluster();
  project.provide('gpCluster', cluster.info);
  return () => cluster.stop();
}
