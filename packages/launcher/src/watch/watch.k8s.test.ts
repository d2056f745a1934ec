/**
 * Readiness against the real test control plane (@gp/testkit): real pods on the process node, the real
 * scheduler, real events. Each fail-fast case must end with its own code, never with the timeout.
 */
import * as net from 'node:net';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { useCluster } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeClient, type KubeClient } from '../kube.js';
import { KernelLaunchError } from './errors.js';
import { WatchHub } from './hub.js';
import { KernelWatcher } from './kernel-watcher.js';
import type { LaunchProgressEvent } from '../launch-policy/progress.js';
import { POD_RESOURCE, ResourceWatch } from './resource-watch.js';
import { kubeConfigTransport } from './transport.js';

/** Long enough that only a hang reaches it: the fail-fast cases must end with their own code. */
const LAUNCH_TIMEOUT_MS = 90_000;
const SLEEP_IMAGE = 'gp-test/watch-sleep:1';
const EXIT3_IMAGE = 'gp-test/watch-exit3:1';

const cluster = useCluster();
let kc: KubeConfig;
let client: KubeClient;
let hub: WatchHub;
let ns: string;

interface PodOptions {
  image?: string;
  restartPolicy?: 'Never' | 'Always';
  resources?: Record<string, unknown>;
  env?: unknown[];
  nodeName?: string;
}

function podManifest(kernelId: string, o: PodOptions = {}): Record<string, unknown> {
  const name = `k-${kernelId}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { kernel_id: kernelId, component: 'kernel', app: 'gateway-provisioners' } },
    spec: {
      restartPolicy: o.restartPolicy ?? 'Never',
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 0,
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      containers: [
        {
          name: 'kernel',
          image: o.image ?? SLEEP_IMAGE,
          ...(o.resources ? { resources: o.resources } : {}),
          ...(o.env ? { env: o.env } : {}),
        },
      ],
    },
  };
}

async function createPod(kernelId: string, o: PodOptions = {}): Promise<string> {
  const body = podManifest(kernelId, o);
  await client.request({ method: 'POST', path: `/api/v1/namespaces/${ns}/pods`, body });
  return (body.metadata as { name: string }).name;
}

async function deletePod(name: string): Promise<void> {
  await client
    .request({ method: 'DELETE', path: `/api/v1/namespaces/${ns}/pods/${name}`, query: { gracePeriodSeconds: 0 } })
    .catch((e: unknown) => {
      if ((e as { statusCode?: number }).statusCode !== 404) throw e;
    });
}

function kid(): string {
  return randomUUID();
}

/**
 * Follows a launch the way the provisioner does: wait until the pod runs, then wait for the connection
 * info (which never comes here) while watching for a failure. Attaches its handlers at once.
 */
async function launchFailure(watcher: KernelWatcher): Promise<KernelLaunchError> {
  let e: unknown;
  try {
    await watcher.waitUntilRunning({ timeoutMs: LAUNCH_TIMEOUT_MS });
    const deadline = AbortSignal.timeout(LAUNCH_TIMEOUT_MS);
    e = await Promise.race([
      watcher.whenFailed(deadline),
      new Promise((_, reject) => deadline.addEventListener('abort', () => reject(new Error('the kernel ran and never failed')))),
    ]);
  } catch (err) {
    e = err;
  } finally {
    watcher.close();
  }
  expect(e).toBeInstanceOf(KernelLaunchError);
  expect((e as KernelLaunchError).code).not.toBe('GP_KERNEL_LAUNCH_TIMEOUT');
  return e as KernelLaunchError;
}

beforeAll(async () => {
  kc = cluster.kc;
  client = createKubeClient(kc);
  cluster.registerImage(SLEEP_IMAGE, { command: ['sleep', '3600'] });
  cluster.registerImage(EXIT3_IMAGE, { command: ['sh', '-c', 'echo kernel failed to start >&2; exit 3'] });
  ns = await cluster.createNamespace('watch');
  hub = new WatchHub(kubeConfigTransport(kc));
});

afterAll(async () => {
  await hub?.close();
});

describe('readiness on a real cluster', () => {
  it('a sleep pod becomes Running with IP 127.0.0.1, with progress in order', async () => {
    const kernelId = kid();
    const progress: LaunchProgressEvent[] = [];
    const watcher = new KernelWatcher(hub, { namespace: ns, kernelId });
    watcher.onProgress((e) => progress.push(e));
    const name = await createPod(kernelId);
    const placement = await watcher.waitUntilRunning({ timeoutMs: LAUNCH_TIMEOUT_MS });
    expect(placement).toMatchObject({ podName: name, podIP: '127.0.0.1', hostIP: '127.0.0.1' });
    expect(placement.nodeName).toBeTruthy();
    const types = progress.map((e) => e.type);
    expect(types[0]).toBe('pod-created');
    expect(types[types.length - 1]).toBe('pod-running');
    for (const t of ['scheduled', 'started'] as const) expect(types).toContain(t);
    const order = ['pod-created', 'scheduled', 'pulling', 'pulled', 'started', 'pod-running'];
    const idx = types.filter((t) => order.includes(t)).map((t) => order.indexOf(t));
    expect(idx).toEqual([...idx].sort((a, b) => a - b));
    expect(new Set(types).size).toBe(types.length);
    watcher.close();
    await deletePod(name);
  });

  it('an unknown image fails with GP_KERNEL_IMAGE_PULL_FAILED', async () => {
    const kernelId = kid();
    const failed = launchFailure(new KernelWatcher(hub, { namespace: ns, kernelId }));
    const name = await createPod(kernelId, { image: 'gp-test/no-such-image:404' });
    const e = await failed;
    expect(e.code).toBe('GP_KERNEL_IMAGE_PULL_FAILED');
    expect(['ErrImagePull', 'ImagePullBackOff']).toContain(e.reason);
    expect(e.failure.message).toContain('gp-test/no-such-image:404');
    expect(e.events.map((x) => x.reason)).toContain('Pulling');
    await deletePod(name);
  });

  it.each([
    ['nvidia.com/gpu', { limits: { 'nvidia.com/gpu': '1' } }],
    ['cpu', { requests: { cpu: '500' } }],
    ['memory', { requests: { memory: '64Ti' } }],
  ])('an over-sized %s request fails with GP_KERNEL_UNSCHEDULABLE and the scheduler message', async (resource, resources) => {
    const kernelId = kid();
    const failed = launchFailure(new KernelWatcher(hub, { namespace: ns, kernelId }));
    const name = await createPod(kernelId, { resources });
    const e = await failed;
    expect(e.code).toBe('GP_KERNEL_UNSCHEDULABLE');
    expect(e.reason).toBe('Unschedulable');
    expect(e.failure.message).toContain(`Insufficient ${resource}`);
    await deletePod(name);
  });

  it('a container that exits non-zero fails with GP_KERNEL_CONTAINER_FAILED and its exit code', async () => {
    const kernelId = kid();
    const failed = launchFailure(new KernelWatcher(hub, { namespace: ns, kernelId }));
    const name = await createPod(kernelId, { image: EXIT3_IMAGE });
    const e = await failed;
    expect(e.code).toBe('GP_KERNEL_CONTAINER_FAILED');
    expect(e.failure.exitCode).toBe(3);
    await deletePod(name);
  });

  it('a crash-looping container (restartPolicy Always) fails with GP_KERNEL_CONTAINER_FAILED', async () => {
    const kernelId = kid();
    const failed = launchFailure(new KernelWatcher(hub, { namespace: ns, kernelId }));
    const name = await createPod(kernelId, { image: EXIT3_IMAGE, restartPolicy: 'Always' });
    const e = await failed;
    expect(e.code).toBe('GP_KERNEL_CONTAINER_FAILED');
    expect(e.failure.exitCode).toBe(3);
    await deletePod(name);
  });

  it('a missing secret in env fails with GP_KERNEL_CONTAINER_CONFIG_INVALID', async () => {
    const kernelId = kid();
    const failed = launchFailure(new KernelWatcher(hub, { namespace: ns, kernelId }));
    const env = [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'no-such-secret', key: 'token' } } }];
    const name = await createPod(kernelId, { env });
    const e = await failed;
    expect(e.code).toBe('GP_KERNEL_CONTAINER_CONFIG_INVALID');
    expect(e.reason).toBe('CreateContainerConfigError');
    expect(e.failure.message).toContain('no-such-secret');
    await deletePod(name);
  });

  it('a pod deleted mid-launch fails with GP_KERNEL_POD_DELETED', async () => {
    const kernelId = kid();
    const watcher = new KernelWatcher(hub, { namespace: ns, kernelId });
    // Bound to a node that does not exist: it stays Pending until deleted.
    const name = await createPod(kernelId, { nodeName: 'no-such-node' });
    const failed = launchFailure(watcher);
    await new Promise<void>((resolve) => {
      const off = watcher.onChange((s) => {
        if (s.pod) {
          off();
          resolve();
        }
      });
      if (watcher.status().pod) resolve();
    });
    await deletePod(name);
    const e = await failed;
    expect(e.code).toBe('GP_KERNEL_POD_DELETED');
  });

  it('a real timeout names the phase it was stuck in', async () => {
    const kernelId = kid();
    const watcher = new KernelWatcher(hub, { namespace: ns, kernelId });
    // Bound to a node that does not exist: nothing ever runs it, nothing reports a failure.
    const name = await createPod(kernelId, { nodeName: 'no-such-node' });
    const e = await watcher.waitUntilRunning({ timeoutMs: 3_000 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    watcher.close();
    expect(e).toBeInstanceOf(KernelLaunchError);
    expect((e as KernelLaunchError).code).toBe('GP_KERNEL_LAUNCH_TIMEOUT');
    expect((e as KernelLaunchError).phase).toBe('scheduled');
    expect((e as KernelLaunchError).failure.resourceName).toBe(name);
    expect((e as KernelLaunchError).message).toContain('phase scheduled');
    await deletePod(name);
  });

  it('a SparkApplication patched to SUBMISSION_FAILED fails with GP_SPARK_APPLICATION_FAILED and its errorMessage', async () => {
    const kernelId = kid();
    const name = `spark-${kernelId}`;
    const failed = launchFailure(new KernelWatcher(hub, { namespace: ns, kernelId, sparkApplication: name }));
    const base = `/apis/sparkoperator.k8s.io/v1beta2/namespaces/${ns}/sparkapplications`;
    await client.request({
      method: 'POST',
      path: base,
      body: {
        apiVersion: 'sparkoperator.k8s.io/v1beta2',
        kind: 'SparkApplication',
        metadata: { name, namespace: ns, labels: { kernel_id: kernelId, component: 'kernel' } },
        spec: {
          type: 'Python',
          mode: 'cluster',
          sparkVersion: '3.5.0',
          image: SLEEP_IMAGE,
          mainApplicationFile: 'local:///usr/local/bin/kernel-launchers/python/scripts/launch_ipykernel.py',
          driver: { cores: 1, memory: '1g' },
          executor: { instances: 1, cores: 1, memory: '1g' },
        },
      },
    });
    const errorMessage = 'failed to run spark-submit for SparkApplication: admission webhook denied the request';
    await client.request({
      method: 'PATCH',
      path: `${base}/${name}/status`,
      body: { status: { applicationState: { state: 'SUBMISSION_FAILED', errorMessage }, driverInfo: {} } },
    });
    const e = await failed;
    expect(e.code).toBe('GP_SPARK_APPLICATION_FAILED');
    expect(e.reason).toBe('SUBMISSION_FAILED');
    expect(e.failure.message).toBe(errorMessage);
    await client.request({ method: 'DELETE', path: `${base}/${name}` });
  });
});

describe('shared watches on a real cluster', () => {
  it('N kernels in a namespace use one pod watch and one event watch, and idle kernels cost no requests', async () => {
    const local = new WatchHub(kubeConfigTransport(kc));
    const ids = Array.from({ length: 4 }, kid);
    const watchers = ids.map((kernelId) => new KernelWatcher(local, { namespace: ns, kernelId }));
    const names = await Promise.all(ids.map((id) => createPod(id)));
    const placements = await Promise.all(watchers.map((w) => w.waitUntilRunning({ timeoutMs: LAUNCH_TIMEOUT_MS })));
    expect(placements.map((p) => p.podName).sort()).toEqual([...names].sort());
    const stats = local.stats();
    expect(stats).toHaveLength(2);
    expect(stats.every((s) => s.leases === 4)).toBe(true);
    const before = local.totals();
    expect(before.listRequests).toBe(2);
    expect(before.watchesStarted).toBe(2);
    // Idle kernels: status comes from the cache.
    for (let i = 0; i < 50; i++) for (const w of watchers) expect(w.status().phase).toBe('running');
    await new Promise((r) => setTimeout(r, 2_000));
    const after = local.totals();
    expect(after.listRequests).toBe(before.listRequests);
    expect(after.watchesStarted).toBe(before.watchesStarted);
    for (const w of watchers) w.close();
    expect(local.totals().activeWatches).toBe(0);
    await Promise.all(names.map(deletePod));
    await local.close();
  });
});

describe('cluster-wide watches on a real cluster', () => {
  it('allNamespaces: kernels in two namespaces share one pod watch and one event watch', async () => {
    const other = await cluster.createNamespace('watch-b');
    const local = new WatchHub(kubeConfigTransport(kc), { allNamespaces: true });
    const a = { kernelId: kid(), namespace: ns };
    const b = { kernelId: kid(), namespace: other };
    const watchers = [a, b].map((k) => new KernelWatcher(local, k));
    const names = await Promise.all(
      [a, b].map(async (k) => {
        const body = podManifest(k.kernelId);
        (body.metadata as { namespace: string }).namespace = k.namespace;
        await client.request({ method: 'POST', path: `/api/v1/namespaces/${k.namespace}/pods`, body });
        return (body.metadata as { name: string }).name;
      }),
    );
    const placements = await Promise.all(watchers.map((w) => w.waitUntilRunning({ timeoutMs: LAUNCH_TIMEOUT_MS })));
    expect(placements.map((p) => p.podName)).toEqual(names);
    expect(local.stats().map((s) => s.path).sort()).toEqual(['/api/v1/events', '/api/v1/pods']);
    expect(local.totals()).toMatchObject({ watchesStarted: 2, activeWatches: 2 });
    for (const w of watchers) w.close();
    await deletePod(names[0]!);
    await client.request({ method: 'DELETE', path: `/api/v1/namespaces/${other}/pods/${names[1]}`, query: { gracePeriodSeconds: 0 } });
    await local.close();
  });
});

/** A TCP proxy in front of the API server whose connections a test can cut or freeze. */
async function startProxy(target: URL): Promise<{ url: string; cut: () => void; freeze: () => void; close: () => Promise<void> }> {
  const pairs = new Set<{ a: net.Socket; b: net.Socket }>();
  let frozen = false;
  const server = net.createServer((a) => {
    const b = net.connect(Number(target.port || 443), target.hostname);
    const pair = { a, b };
    pairs.add(pair);
    a.on('data', (d) => {
      if (!frozen) b.write(d);
    });
    b.on('data', (d) => {
      if (!frozen) a.write(d);
    });
    const end = (): void => {
      a.destroy();
      b.destroy();
      pairs.delete(pair);
    };
    a.on('close', end).on('error', end);
    b.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${target.protocol}//127.0.0.1:${port}`,
    cut: () => {
      for (const p of pairs) {
        p.a.destroy();
        p.b.destroy();
      }
    },
    /** Silently drop data on the current connections (a half-open peer); new connections work. */
    freeze: () => {
      const current = [...pairs];
      for (const p of current) {
        p.a.removeAllListeners('data');
        p.b.removeAllListeners('data');
      }
    },
    close: () =>
      new Promise<void>((r) => {
        for (const p of pairs) {
          p.a.destroy();
          p.b.destroy();
        }
        server.close(() => r());
      }),
  };
}

function viaProxy(base: KubeConfig, server: string): KubeConfig {
  const k = new KubeConfig();
  const cluster = base.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster');
  k.loadFromOptions({
    clusters: [{ ...cluster, server }],
    users: base.users,
    contexts: [{ name: 'proxy', cluster: cluster.name, user: base.getCurrentUser()?.name ?? '' }],
    currentContext: 'proxy',
  });
  return k;
}

describe('watch connection failures on a real cluster', () => {
  it('a cut connection is reopened from the last resourceVersion and the next event arrives', async () => {
    const proxy = await startProxy(new URL(kc.getCurrentCluster()!.server));
    const w = new ResourceWatch({
      transport: kubeConfigTransport(viaProxy(kc, proxy.url)),
      resource: { ...POD_RESOURCE, namespace: ns },
      labelSelector: 'kernel_id',
      backoff: { initialMs: 50, maxMs: 500 },
    });
    w.start();
    try {
      await w.whenSynced();
      // A first pod proves the watch stream is up through the proxy before it is cut.
      const first = await createPod(kid(), { nodeName: 'no-such-node' });
      await until(() => w.get(first) !== undefined, 'the first pod on the first connection');
      const reconnectsBefore = w.counters.reconnects;
      proxy.cut(); // the connection that just delivered the first pod breaks
      const kernelId = kid();
      const name = await createPod(kernelId, { nodeName: 'no-such-node' });
      await until(() => w.get(name) !== undefined, 'the pod created after the cut');
      expect(w.counters.reconnects).toBeGreaterThan(reconnectsBefore);
      expect(w.counters.lists).toBe(1);
      await deletePod(name);
      await deletePod(first);
    } finally {
      await w.stop();
      await proxy.close();
    }
  });

  it('a frozen (half-open) connection is abandoned by the inactivity timer and the next event arrives', async () => {
    const proxy = await startProxy(new URL(kc.getCurrentCluster()!.server));
    const w = new ResourceWatch({
      transport: kubeConfigTransport(viaProxy(kc, proxy.url)),
      resource: { ...POD_RESOURCE, namespace: ns },
      labelSelector: 'kernel_id',
      inactivityTimeoutMs: 2_000,
      backoff: { initialMs: 50, maxMs: 500 },
    });
    w.start();
    try {
      await w.whenSynced();
      const first = await createPod(kid(), { nodeName: 'no-such-node' });
      await until(() => w.get(first) !== undefined, 'the first pod on the first connection');
      const timeoutsBefore = w.counters.inactivityTimeouts;
      proxy.freeze(); // the connection that just delivered the first pod goes silent
      const name = await createPod(kid(), { nodeName: 'no-such-node' });
      await until(() => w.get(name) !== undefined, 'the pod created while the first connection was frozen');
      expect(w.counters.inactivityTimeouts).toBeGreaterThan(timeoutsBefore);
      await deletePod(name);
      await deletePod(first);
    } finally {
      await w.stop();
      await proxy.close();
    }
  });
});

async function until(pred: () => boolean, what: string, limitMs = 60_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
