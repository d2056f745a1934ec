// Vitest global setup for the `k8s` project: starts the test control plane (building the
// gp-testcluster binary first if it is not cached) and provides its ClusterInfo to tests. At the end,
// the run fails if any kernel pod, kernel namespace or SparkApplication outlived the tests (a leak).
import type { TestProject } from 'vitest/node';
import { startCluster } from './cluster.js';
import './vitest.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startCluster();
  project.provide('gpCluster', cluster.info);
  return async () => {
    let leftovers: string[];
    try {
      leftovers = await cluster.kernelLeftovers();
    } finally {
      await cluster.stop();
    }
    if (leftovers.length > 0) {
      // Vitest reports an error thrown here but does not fail the run for it: set the exit code too.
      process.exitCode = 1;
      throw new Error(`The k8s tests left kernel objects behind (each test must clean up its kernels): ${leftovers.join(', ')}`);
    }
  };
}
