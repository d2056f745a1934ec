import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '@gp/core';
import { KernelLaunchError } from './errors.js';
import { FakeTransport } from './fake-transport.test-helper.js';
import {
  IMAGE,
  KERNEL_ID,
  NAMESPACE,
  POD_NAME,
  event,
  pod,
  runningPod,
  scheduledCondition,
  scheduledPod,
  sparkApp,
  terminated,
  waiting,
} from './fixtures.test-helper.js';
import { WatchHub } from './hub.js';
import { KernelWatcher, waitForKernelPod } from './kernel-watcher.js';
import { resolveLaunchTimeout } from '../launch-policy/launch-timeout.js';
import { LaunchProgress, type LaunchProgressEvent } from '../launch-policy/progress.js';

const PODS = `/api/v1/namespaces/${NAMESPACE}/pods`;
const EVENTS = `/api/v1/namespaces/${NAMESPACE}/events`;
const APPS = `/apis/sparkoperator.k8s.io/v1beta2/namespaces/${NAMESPACE}/sparkapplications`;

async function flush(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

function setup() {
  const t = new FakeTransport();
  t.set(PODS, [], '100');
  t.set(EVENTS, [], '100');
  t.set(APPS, [], '100');
  const hub = new WatchHub(t, { watch: { random: () => 0 } });
  const podStream = () => t.last(PODS);
  const eventStream = () => t.last(EVENTS);
  return { t, hub, podStream, eventStream };
}

/** Lets `p` run for `ms` of fake time (default: just the pending callbacks), then reports where it is. */
async function settle<T>(p: Promise<T>, ms = 0): Promise<{ value?: T; error?: unknown; done: boolean }> {
  const r: { value?: T; error?: unknown; done: boolean } = { done: false };
  p.then(
    (v) => Object.assign(r, { value: v, done: true }),
    (e: unknown) => Object.assign(r, { error: e, done: true }),
  );
  await vi.advanceTimersByTimeAsync(ms);
  return r;
}

/** Failures seen before any event wait up to eventGraceMs (1 s) for the events. */
const GRACE = 1000;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('WatchHub sharing and routing', () => {
  it('many kernels in a namespace share one pod watch and one event watch; the last release stops them', async () => {
    const { t, hub } = setup();
    const watchers = Array.from({ length: 5 }, (_, i) => new KernelWatcher(hub, { namespace: NAMESPACE, kernelId: `k-${i}` }));
    await flush();
    expect(t.watchesOn(PODS)).toHaveLength(1);
    expect(t.watchesOn(EVENTS)).toHaveLength(1);
    expect(t.listCalls).toHaveLength(2);
    expect(hub.stats().map((s) => s.leases)).toEqual([5, 5]);
    expect(hub.totals()).toMatchObject({ activeWatches: 2, watchesStarted: 2, lists: 2 });
    for (const w of watchers.slice(0, 4)) w.close();
    expect(t.openStreams()).toHaveLength(2);
    watchers[4]!.close();
    await flush();
    expect(t.openStreams()).toHaveLength(0);
    expect(hub.stats()).toEqual([]);
    expect(hub.totals()).toMatchObject({ activeWatches: 0, watchesStarted: 2 });
  });

  it('another namespace gets its own watches', async () => {
    const { t, hub } = setup();
    const a = new KernelWatcher(hub, { namespace: NAMESPACE, kernelId: 'a' });
    const b = new KernelWatcher(hub, { namespace: 'other', kernelId: 'b' });
    await flush();
    expect(new Set(t.streams.map((s) => s.path))).toEqual(new Set([PODS, EVENTS, '/api/v1/namespaces/other/pods', '/api/v1/namespaces/other/events']));
    a.close();
    b.close();
  });

  it('allNamespaces: kernels in many namespaces share one cluster-wide watch per resource', async () => {
    const t = new FakeTransport();
    t.set('/api/v1/pods', [], '1');
    t.set('/api/v1/events', [], '1');
    const hub = new WatchHub(t, { allNamespaces: true, watch: { random: () => 0 } });
    const a = new KernelWatcher(hub, { namespace: 'ns-a', kernelId: 'ka', podName: 'same-name' });
    const b = new KernelWatcher(hub, { namespace: 'ns-b', kernelId: 'kb', podName: 'same-name' });
    await flush();
    expect(t.streams.map((s) => s.path).sort()).toEqual(['/api/v1/events', '/api/v1/pods']);
    const inB = runningPod({ name: 'same-name', kernelId: 'kb', uid: 'u-b' });
    inB.metadata!.namespace = 'ns-b';
    t.last('/api/v1/pods').send('ADDED', inB);
    expect(b.status().phase).toBe('running');
    expect(a.status().phase).toBe('waiting-for-pod');
    const evA = event('Failed', 'Error: ErrImagePull', { type: 'Warning', name: 'same-name', uid: 'u-b' });
    evA.metadata!.namespace = 'ns-a';
    evA.involvedObject!.namespace = 'ns-a';
    t.last('/api/v1/events').send('ADDED', evA);
    expect(b.recentEvents()).toEqual([]);
    a.close();
    b.close();
  });

  it('routes each pod only to its kernel', async () => {
    const { hub, podStream } = setup();
    const a = new KernelWatcher(hub, { namespace: NAMESPACE, kernelId: 'kernel-a' });
    const b = new KernelWatcher(hub, { namespace: NAMESPACE, kernelId: 'kernel-b' });
    const changesA: string[] = [];
    const changesB: string[] = [];
    a.onChange((s) => changesA.push(s.phase));
    b.onChange((s) => changesB.push(s.phase));
    await flush();
    podStream().send('ADDED', runningPod({ name: 'alice-kernel-a', kernelId: 'kernel-a', uid: 'u-a' }));
    expect(a.status().phase).toBe('running');
    expect(b.status().phase).toBe('waiting-for-pod');
    expect(changesB).toEqual([]);
    expect(changesA).toEqual(['running']);
    a.close();
    b.close();
  });

  it('ignores Spark executor pods carrying the kernel id', async () => {
    const { hub, podStream } = setup();
    const w = new KernelWatcher(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID });
    await flush();
    podStream().send('ADDED', runningPod({ name: 'exec-1', uid: 'u-exec', labels: { kernel_id: KERNEL_ID, component: 'worker' } }));
    expect(w.status().phase).toBe('waiting-for-pod');
    w.close();
  });
});

describe('KernelWatcher.waitUntilRunning', () => {
  it('resolves with the placement and emits progress in order', async () => {
    const { hub, podStream, eventStream } = setup();
    const progress: LaunchProgressEvent[] = [];
    const p = waitForKernelPod(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID, podName: POD_NAME, timeoutMs: 30_000, onProgress: (e) => progress.push(e) });
    await flush();
    podStream().send('ADDED', pod());
    eventStream().send('ADDED', event('Scheduled', `Successfully assigned ${NAMESPACE}/${POD_NAME} to node-1`, { component: 'default-scheduler', at: '2026-11-23T22:00:01Z' }));
    podStream().send('MODIFIED', scheduledPod(waiting('ContainerCreating')));
    eventStream().send('ADDED', event('Pulling', `Pulling image "${IMAGE}"`, { at: '2026-11-23T22:00:02Z' }));
    eventStream().send('ADDED', event('Pulled', `Successfully pulled image "${IMAGE}" in 3.2s`, { at: '2026-11-23T22:00:05Z' }));
    eventStream().send('ADDED', event('Started', 'Started container', { at: '2026-11-23T22:00:06Z' }));
    podStream().send('MODIFIED', runningPod());
    const r = await settle(p);
    expect(r.value).toMatchObject({ podName: POD_NAME, podIP: '10.244.1.17', hostIP: '10.0.0.5', nodeName: 'node-1' });
    expect(progress.map((e) => e.type)).toEqual(['pod-created', 'scheduled', 'pulling', 'pulled', 'started', 'pod-running']);
    expect(progress[1]?.message).toContain('Successfully assigned');
    expect(progress[2]?.message).toContain(IMAGE);
    expect(progress.every((e) => e.kernelId === KERNEL_ID && e.at instanceof Date)).toBe(true);
  });

  it('a Pulled event that arrives before the pod shows its node still gives scheduled first', async () => {
    const { hub, podStream, eventStream } = setup();
    const w = new KernelWatcher(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID });
    await flush();
    podStream().send('ADDED', pod());
    eventStream().send('ADDED', event('Pulled', `Container image "${IMAGE}" already present on machine`));
    podStream().send('MODIFIED', runningPod());
    expect(w.progress.history.map((e) => e.type)).toEqual(['pod-created', 'scheduled', 'pulled', 'started', 'pod-running']);
    w.close();
  });

  it('a pod already running in the shared cache resolves at once, with implied milestones in order', async () => {
    const { t, hub } = setup();
    t.set(PODS, [runningPod()], '100');
    const other = new KernelWatcher(hub, { namespace: NAMESPACE, kernelId: 'other' }); // warms the shared cache
    await flush();
    const progress = new LaunchProgress(KERNEL_ID);
    const w = new KernelWatcher(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID, progress });
    const r = await settle(w.waitUntilRunning());
    expect(r.value?.podIP).toBe('10.244.1.17');
    expect(progress.history.map((e) => e.type)).toEqual(['pod-created', 'scheduled', 'started', 'pod-running']);
    w.close();
    other.close();
  });

  it('fails fast on ErrImagePull with reason, message, the phase it was in, the last events, and cleans up', async () => {
    const { hub, podStream, eventStream } = setup();
    const onFailure = vi.fn();
    const p = waitForKernelPod(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID, timeoutMs: 300_000, onFailure });
    await flush();
    podStream().send('ADDED', scheduledPod(waiting('ContainerCreating')));
    eventStream().send('ADDED', event('Pulling', 'Pulling image "elyra/kernel-py:nope"', { at: '2026-11-23T22:00:02Z' }));
    const pending = await settle(p);
    expect(pending.done).toBe(false);
    const msg = 'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/elyra/kernel-py:nope": not found';
    podStream().send('MODIFIED', scheduledPod(waiting('ErrImagePull', msg)));
    const r = await settle(p, GRACE);
    expect(r.error).toBeInstanceOf(KernelLaunchError);
    const e = r.error as KernelLaunchError;
    expect(e.code).toBe('GP_KERNEL_IMAGE_PULL_FAILED');
    expect(e.reason).toBe('ErrImagePull');
    expect(e.failure.message).toBe(msg);
    expect(e.phase).toBe('pulling');
    expect(e.events.map((x) => x.reason)).toEqual(['Pulling']);
    expect(e.failure.resourceName).toBe(POD_NAME);
    expect(e.message).toContain('ErrImagePull');
    expect(e.message).toContain('image name and tag');
    expect(e.details).toMatchObject({ reason: 'ErrImagePull', phase: 'pulling', kernelId: KERNEL_ID });
    expect(onFailure).toHaveBeenCalledWith(e);
  });

  it.each([
    ['GP_KERNEL_UNSCHEDULABLE', 'Unschedulable', pod({ conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' }] })],
    ['GP_KERNEL_CONTAINER_CONFIG_INVALID', 'CreateContainerConfigError', scheduledPod(waiting('CreateContainerConfigError', 'secret "nope" not found'))],
    ['GP_KERNEL_CONTAINER_FAILED', 'Error', pod({ phase: 'Failed', nodeName: 'node-1', conditions: [scheduledCondition], containerStatuses: [terminated(1)] })],
    ['GP_KERNEL_POD_FAILED', 'Evicted', pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' })],
    ['GP_KERNEL_POD_DELETED', 'Terminating', runningPod({ deletionTimestamp: '2026-11-23T22:05:00Z' })],
  ])('fails with %s (%s)', async (code, reason, p) => {
    const { hub, podStream } = setup();
    const wait = waitForKernelPod(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID, timeoutMs: 300_000 });
    await flush();
    podStream().send('ADDED', p);
    const early = await settle(wait);
    expect(early.done).toBe(false); // no event yet: waiting for the events to catch up
    const r = await settle(wait, GRACE);
    expect((r.error as KernelLaunchError).code).toBe(code);
    expect((r.error as KernelLaunchError).reason).toBe(reason);
  });

  it('a pod deleted mid-launch fails with GP_KERNEL_POD_DELETED', async () => {
    const { hub, podStream } = setup();
    const wait = waitForKernelPod(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID, timeoutMs: 300_000 });
    await flush();
    podStream().send('ADDED', scheduledPod(waiting('ContainerCreating')));
    podStream().send('DELETED', scheduledPod(waiting('ContainerCreating')));
    const r = await settle(wait, GRACE);
    expect((r.error as KernelLaunchError).code).toBe('GP_KERNEL_POD_DELETED');
    expect((r.error as KernelLaunchError).phase).toBe('scheduled');
  });

  it('times out naming the phase it was stuck in and the last events', async () => {
    const { hub, podStream, eventStream } = setup();
    const wait = settle(waitForKernelPod(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID, timeoutMs: 30_000 }));
    await flush();
    podStream().send('ADDED', scheduledPod(waiting('ContainerCreating')));
    eventStream().send('ADDED', event('Pulling', 'Pulling image "huge/image:1"'));
    await vi.advanceTimersByTimeAsync(29_000);
    expect((await wait).done).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    const r = await wait;
    const e = r.error as KernelLaunchError;
    expect(e.code).toBe('GP_KERNEL_LAUNCH_TIMEOUT');
    expect(e.phase).toBe('pulling');
    expect(e.failure.message).toContain('Pulling');
    expect(e.events.map((x) => x.reason)).toEqual(['Pulling']);
    expect(e.httpStatus).toBe(504);
    expect(e.message).toContain('phase pulling');
  });

  it('a timeout while the watch cannot list says why', async () => {
    const { t, hub } = setup();
    const forbidden = new Error('pods is forbidden');
    t.listFailures.set(PODS, Array.from({ length: 50 }, () => forbidden));
    const wait = settle(waitForKernelPod(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID, timeoutMs: 10_000 }));
    await vi.advanceTimersByTimeAsync(10_000);
    const e = (await wait).error as KernelLaunchError;
    expect(e.code).toBe('GP_KERNEL_LAUNCH_TIMEOUT');
    expect(e.phase).toBe('waiting-for-pod');
    expect(e.failure.watchError).toContain('pods is forbidden');
  });

  it('the abort signal cancels the wait', async () => {
    const { hub } = setup();
    const ac = new AbortController();
    const wait = settle(waitForKernelPod(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID, signal: ac.signal }));
    await flush();
    ac.abort(new Error('client went away'));
    await flush();
    const e = (await wait).error as KernelLaunchError;
    expect(e.code).toBe('GP_KERNEL_LAUNCH_CANCELLED');
    expect(e.failure.message).toBe('client went away');
    expect(hub.stats()).toEqual([]);
  });

  it('events recorded before the pod was seen are used, and other pods\' events are not', async () => {
    const { hub, podStream, eventStream } = setup();
    const wait = settle(waitForKernelPod(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID, timeoutMs: 300_000 }));
    await flush();
    const msg = '0/1 nodes are available: 1 Insufficient memory.';
    eventStream().send('ADDED', event('FailedScheduling', 'not mine', { type: 'Warning', name: 'someone-else', component: 'default-scheduler' }));
    eventStream().send('ADDED', event('FailedScheduling', msg, { type: 'Warning', component: 'default-scheduler' }));
    podStream().send('ADDED', pod());
    await flush();
    const e = (await wait).error as KernelLaunchError;
    expect(e.code).toBe('GP_KERNEL_UNSCHEDULABLE');
    expect(e.failure.message).toBe(msg);
    expect(e.events.map((x) => x.message)).toEqual([msg]);
  });

  it('a failure seen before its Warning event waits briefly for it, and rejects as soon as it arrives', async () => {
    const { hub, podStream, eventStream } = setup();
    const wait = waitForKernelPod(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID, timeoutMs: 300_000 });
    await flush();
    podStream().send('ADDED', scheduledPod(waiting('ErrImagePull', 'not found')));
    const early = await settle(wait, 100);
    expect(early.done).toBe(false);
    eventStream().send('ADDED', event('Pulling', 'Pulling image "x"', { at: '2026-11-23T22:00:02Z' }));
    expect((await settle(wait, 100)).done).toBe(false); // a Normal event is not the failure's report
    eventStream().send('ADDED', event('Failed', 'Failed to pull image "x": not found', { type: 'Warning', at: '2026-11-23T22:00:03Z' }));
    const r = await settle(wait);
    const e = r.error as KernelLaunchError;
    expect(e.code).toBe('GP_KERNEL_IMAGE_PULL_FAILED');
    expect(e.events.map((x) => x.reason)).toEqual(['Pulling', 'Failed']);
  });

  it('a Warning event is streamed as progress', async () => {
    const { hub, podStream, eventStream } = setup();
    const w = new KernelWatcher(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID });
    await flush();
    podStream().send('ADDED', scheduledPod(waiting('ContainerCreating')));
    eventStream().send('ADDED', event('FailedMount', 'MountVolume.SetUp failed for volume "data" : configmap "x" not found', { type: 'Warning' }));
    expect(w.progress.history.filter((e) => e.type === 'warning').map((e) => e.message)).toEqual([
      'FailedMount: MountVolume.SetUp failed for volume "data" : configmap "x" not found',
    ]);
    expect(w.status().error).toBeUndefined();
    w.close();
  });
});

describe('KernelWatcher after the launch', () => {
  it('status() follows the kernel from the cache with no further API requests', async () => {
    const { t, hub, podStream } = setup();
    const w = new KernelWatcher(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID });
    await flush();
    podStream().send('ADDED', runningPod());
    await w.waitUntilRunning();
    const requests = t.listCalls.length + t.streams.length;
    for (let i = 0; i < 100; i++) expect(w.status().phase).toBe('running');
    podStream().send('MODIFIED', runningPod({ phase: 'Failed', containerStatuses: [terminated(137, 'OOMKilled')] }));
    expect(w.status().phase).toBe('failed');
    expect(w.status().error?.code).toBe('GP_KERNEL_CONTAINER_FAILED');
    expect(t.listCalls.length + t.streams.length).toBe(requests);
    w.close();
  });
});

describe('KernelWatcher.whenFailed', () => {
  it('resolves when a running kernel fails later (to race against the connection info)', async () => {
    const { hub, podStream } = setup();
    const w = new KernelWatcher(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID });
    await flush();
    podStream().send('ADDED', runningPod());
    await w.waitUntilRunning();
    const failed = settle(w.whenFailed());
    expect((await failed).done).toBe(false);
    podStream().send('MODIFIED', runningPod({ containerStatuses: [terminated(3)] }));
    const r = await failed;
    await flush();
    expect((r.value as KernelLaunchError).code).toBe('GP_KERNEL_CONTAINER_FAILED');
    expect((r.value as KernelLaunchError).failure.exitCode).toBe(3);
    w.close();
  });
});

describe('KernelWatcher.close', () => {
  it('settles pending waits as cancelled and leaves a caller-owned progress channel open', async () => {
    const { hub } = setup();
    const progress = new LaunchProgress(KERNEL_ID);
    const w = new KernelWatcher(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID, progress });
    const running = settle(w.waitUntilRunning());
    const failed = settle(w.whenFailed());
    await flush();
    w.close();
    await flush();
    expect(((await running).error as KernelLaunchError).code).toBe('GP_KERNEL_LAUNCH_CANCELLED');
    expect(((await failed).value as KernelLaunchError).code).toBe('GP_KERNEL_LAUNCH_CANCELLED');
    expect(progress.isClosed).toBe(false);
    progress.emit('connection-info-received', 'ok');
    expect(progress.history.map((e) => e.type)).toEqual(['connection-info-received']);
  });

  it('closes the progress channel it created', async () => {
    const { hub } = setup();
    const w = new KernelWatcher(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID });
    w.close();
    expect(w.progress.isClosed).toBe(true);
  });
});

describe('KernelWatcher.launchTimeoutError', () => {
  it('lets the provisioner name its own phase when waiting for the connection info runs out', async () => {
    const { hub, podStream, eventStream } = setup();
    const w = new KernelWatcher(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID });
    await flush();
    podStream().send('ADDED', runningPod());
    eventStream().send('ADDED', event('Started', 'Started container'));
    await w.waitUntilRunning();
    const e = w.launchTimeoutError(30_000, { phase: 'waiting-for-connection-info' });
    expect(e.code).toBe('GP_KERNEL_LAUNCH_TIMEOUT');
    expect(e.phase).toBe('waiting-for-connection-info');
    expect(e.failure.message).toContain('did not report');
    expect(e.events.map((x) => x.reason)).toEqual(['Started']);
    expect(e.message).toContain('phase waiting-for-connection-info');
    w.close();
  });
});

describe('Spark Operator kernels', () => {
  it('SUBMISSION_FAILED fails fast with the errorMessage', async () => {
    const { t, hub } = setup();
    const wait = settle(waitForKernelPod(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID, sparkApplication: POD_NAME, timeoutMs: 300_000 }));
    await flush();
    t.last(APPS).send('ADDED', sparkApp(''));
    await flush();
    expect((await wait).done).toBe(false);
    const msg = 'failed to run spark-submit: Exception in thread "main" io.fabric8.kubernetes.client.KubernetesClientException: Forbidden';
    t.last(APPS).send('MODIFIED', sparkApp('SUBMISSION_FAILED', msg));
    await vi.advanceTimersByTimeAsync(GRACE);
    const e = (await wait).error as KernelLaunchError;
    expect(e.code).toBe('GP_SPARK_APPLICATION_FAILED');
    expect(e.reason).toBe('SUBMISSION_FAILED');
    expect(e.failure.message).toBe(msg);
    expect(e.phase).toBe('spark-submission_failed');
  });

  it('resolves with the driver pod once it runs', async () => {
    const { t, hub, podStream } = setup();
    const progress: string[] = [];
    const wait = settle(
      // podName (the kernel resource name) is ignored for Spark: the driver is the kernel pod.
      waitForKernelPod(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID, podName: POD_NAME, sparkApplication: POD_NAME, timeoutMs: 300_000, onProgress: (e) => progress.push(e.type) }),
    );
    await flush();
    t.last(APPS).send('ADDED', sparkApp('SUBMITTED', undefined, `${POD_NAME}-driver`));
    const driverLabels = { kernel_id: KERNEL_ID, component: 'kernel', 'spark-role': 'driver' };
    podStream().send('ADDED', runningPod({ name: 'exec-1', uid: 'u-e', labels: { kernel_id: KERNEL_ID, 'spark-role': 'executor' } }));
    podStream().send('ADDED', runningPod({ name: `${POD_NAME}-driver`, uid: 'u-d', labels: driverLabels }));
    await flush();
    const r = await wait;
    expect(r.value?.podName).toBe(`${POD_NAME}-driver`);
    expect(r.value?.sparkApplication?.metadata?.name).toBe(POD_NAME);
    expect(progress).toEqual(['resource-created', 'pod-created', 'scheduled', 'started', 'pod-running']);
  });

  it('the driver pod failing to pull its image fails the launch', async () => {
    const { t, hub, podStream } = setup();
    const wait = settle(waitForKernelPod(hub, { namespace: NAMESPACE, kernelId: KERNEL_ID, sparkApplication: POD_NAME, timeoutMs: 300_000 }));
    await flush();
    t.last(APPS).send('ADDED', sparkApp('SUBMITTED', undefined, `${POD_NAME}-driver`));
    podStream().send('ADDED', scheduledPod(waiting('ImagePullBackOff', 'Back-off pulling image "spark:nope"'), { name: `${POD_NAME}-driver`, uid: 'u-d' }));
    await vi.advanceTimersByTimeAsync(GRACE);
    expect(((await wait).error as KernelLaunchError).code).toBe('GP_KERNEL_IMAGE_PULL_FAILED');
  });
});

describe('resolveLaunchTimeout', () => {
  it('uses the configured value when nothing is requested', () => {
    expect(resolveLaunchTimeout({ configured: 45 })).toMatchObject({ seconds: 45, ms: 45_000, source: 'configured', clamped: false });
    expect(resolveLaunchTimeout({ configured: 45, requested: '' })).toMatchObject({ seconds: 45 });
    expect(resolveLaunchTimeout()).toMatchObject({ seconds: 30 });
  });
  it('honours KERNEL_LAUNCH_TIMEOUT within the administrator maximum', () => {
    expect(resolveLaunchTimeout({ configured: 30, requested: '120', adminMaximum: 300 })).toMatchObject({ seconds: 120, source: 'request', clamped: false });
    expect(resolveLaunchTimeout({ configured: 30, requested: 900, adminMaximum: 300 })).toMatchObject({ seconds: 300, clamped: true, maximum: 300 });
  });
  it('the maximum never lowers the configured value', () => {
    expect(resolveLaunchTimeout({ configured: 900, requested: '1000', adminMaximum: 300 })).toMatchObject({ seconds: 900, clamped: true });
  });
  it.each(['0', '-5', '1.5', 'abc', 0, 2.5, Number.NaN])('rejects %s with a ConfigError naming KERNEL_LAUNCH_TIMEOUT', (v) => {
    expect(() => resolveLaunchTimeout({ configured: 30, requested: v })).toThrow(ConfigError);
    try {
      resolveLaunchTimeout({ configured: 30, requested: v });
    } catch (e) {
      expect((e as ConfigError).option).toBe('KERNEL_LAUNCH_TIMEOUT');
      expect((e as ConfigError).message).toContain('positive whole number');
    }
  });
  it('rejects a non-positive configured value', () => {
    expect(() => resolveLaunchTimeout({ configured: 0 })).toThrow(ConfigError);
  });
});

describe('LaunchProgress', () => {
  it('iterators replay history and end when closed', async () => {
    vi.useRealTimers();
    const p = new LaunchProgress('k');
    p.emit('pod-created', 'a');
    const seen: string[] = [];
    const done = (async () => {
      for await (const e of p) seen.push(e.type);
    })();
    p.emit('scheduled', 'b');
    await new Promise((r) => setTimeout(r, 0));
    p.emit('ready', 'c');
    p.close();
    p.emit('warning', 'ignored');
    await done;
    expect(seen).toEqual(['pod-created', 'scheduled', 'ready']);
  });
});
