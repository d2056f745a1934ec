/**
 * stopApiServer / startApiServer on a cluster of this file's own (never the shared one: other files use its
 * API server): the API goes away and comes back on the same address with the same certificates and data,
 * while etcd, the node and its pods keep running.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from './cluster.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startCluster({ installSparkCrd: false });
}, 300_000);
afterAll(() => cluster?.stop(), 60_000);

describe('an API server outage', () => {
  it('stops only the kube-apiserver and restarts it with its data; pods keep running', async () => {
    const ns = await cluster.createNamespace('outage');
    await cluster.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'kept' }, data: { a: '1' } } });
    await cluster.core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] } },
    });
    const running = await cluster.waitFor(async () => {
      const p = await cluster.core.readNamespacedPod({ namespace: ns, name: 'p' });
      return p.status?.phase === 'Running' ? p : undefined;
    }, { description: 'pod p to run' });
    const pid = Number(/^gp-process:\/\/(\d+)$/.exec(running.status?.containerStatuses?.[0]?.containerID ?? '')?.[1]);
    expect(pid).toBeGreaterThan(0);

    await cluster.stopApiServer();
    expect(cluster.apiServerRunning).toBe(false);
    const refused = await cluster.core.readNamespace({ name: ns }).catch((e: unknown) => e);
    expect(String((refused as Error).message ?? refused)).toMatch(/ECONNREFUSED/);
    // The pod's process lives on without the API server.
    expect(() => process.kill(pid, 0)).not.toThrow();

    await cluster.startApiServer();
    expect(cluster.apiServerRunning).toBe(true);
    // Same URL and certificates (the old KubeConfig works), same data (etcd kept).
    const cm = await cluster.kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: ns, name: 'kept' });
    expect(cm.data).toEqual({ a: '1' });
    const after = await cluster.core.readNamespacedPod({ namespace: ns, name: 'p' });
    expect(after.metadata?.uid).toBe(running.metadata?.uid);
    expect(after.status?.containerStatuses?.[0]?.containerID).toBe(running.status?.containerStatuses?.[0]?.containerID);
    // startApiServer is a no-op while it runs; the controllers work again (a namespace deletion completes).
    await cluster.startApiServer();
    await cluster.core.deleteNamespace({ name: ns });
    await cluster.waitFor(async () => (await cluster.core.listNamespace()).items.every((n) => n.metadata?.name !== ns), { timeoutMs: 120_000, description: 'the namespace to go' });
  }, 300_000);
});
