import { describe, expect, it } from 'vitest';
import { classifyPod, classifySparkApplication, eventsForPod, sortEvents } from './classify.js';
import {
  IMAGE,
  POD_NAME,
  event,
  pod,
  running,
  runningPod,
  scheduledCondition,
  scheduledPod,
  sparkApp,
  terminated,
  waiting,
} from './fixtures.test-helper.js';

describe('classifyPod: progress states', () => {
  it('a new pod without conditions is pending', () => {
    const c = classifyPod(pod());
    expect(c.state).toBe('pending');
    expect(c.failure).toBeUndefined();
    expect(c.started).toBe(false);
  });

  it('a pod bound to a node with its container ContainerCreating is scheduled', () => {
    const c = classifyPod(scheduledPod(waiting('ContainerCreating')));
    expect(c).toMatchObject({ state: 'scheduled', reason: 'ContainerCreating', nodeName: 'node-1', hostIP: '10.0.0.5' });
  });

  it('a Pulling event without a later Pulled event means pulling', () => {
    const p = scheduledPod(waiting('ContainerCreating'));
    const evs = [
      event('Scheduled', `Successfully assigned kernels/${POD_NAME} to node-1`, { component: 'default-scheduler', at: '2026-11-23T22:00:01Z' }),
      event('Pulling', `Pulling image "${IMAGE}"`, { at: '2026-11-23T22:00:02Z' }),
    ];
    expect(classifyPod(p, evs)).toMatchObject({ state: 'pulling', reason: 'Pulling', pulling: true, pulled: false });
  });

  it('a Pulled event after Pulling means back to scheduled (container being created)', () => {
    const p = scheduledPod(waiting('ContainerCreating'));
    const evs = [
      event('Pulled', `Successfully pulled image "${IMAGE}" in 2.1s`, { at: '2026-11-23T22:00:04Z' }),
      event('Pulling', `Pulling image "${IMAGE}"`, { at: '2026-11-23T22:00:02Z' }),
    ];
    expect(classifyPod(p, evs)).toMatchObject({ state: 'scheduled', pulled: true });
  });

  it('Running with a pod IP is running and carries the addresses', () => {
    const c = classifyPod(runningPod());
    expect(c).toMatchObject({ state: 'running', podIP: '10.244.1.17', hostIP: '10.0.0.5', nodeName: 'node-1', started: true });
  });

  it('Running without a pod IP yet is not running', () => {
    const p = runningPod();
    delete p.status!.podIP;
    expect(classifyPod(p).state).toBe('scheduled');
  });

  it('events about another pod (or an older pod of the same name) are ignored', () => {
    const p = scheduledPod(waiting('ContainerCreating'));
    const evs = [
      event('Failed', 'Error: ErrImagePull', { name: 'other-pod' }),
      event('Failed', 'Error: ErrImagePull', { uid: 'an-older-incarnation' }),
    ];
    expect(classifyPod(p, evs).state).toBe('scheduled');
  });
});

describe('classifyPod: failures', () => {
  it.each([
    ['ErrImagePull', 'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/elyra/kernel-py:nope": not found'],
    ['ImagePullBackOff', `Back-off pulling image "${IMAGE}"`],
    ['InvalidImageName', 'Failed to apply default image tag "Elyra/Kernel": couldn\'t parse image name'],
    ['ErrImageNeverPull', 'Container image "x" is not present with pull policy of Never'],
  ])('%s fails as image-pull with the kubelet message', (reason, message) => {
    const c = classifyPod(scheduledPod(waiting(reason, message)));
    expect(c).toMatchObject({ state: 'failed', failure: 'image-pull', reason, message, container: POD_NAME, image: IMAGE });
  });

  it('an image pull failure event fails before the container status says so', () => {
    const p = scheduledPod(waiting('ContainerCreating'));
    const evs = [
      event('Pulling', 'Pulling image "elyra/kernel-py:nope"', { at: '2026-11-23T22:00:02Z' }),
      event('Failed', 'Failed to pull image "elyra/kernel-py:nope": manifest unknown', { type: 'Warning', at: '2026-11-23T22:00:03Z' }),
      event('Failed', 'Error: ErrImagePull', { type: 'Warning', at: '2026-11-23T22:00:03Z' }),
    ];
    expect(classifyPod(p, evs)).toMatchObject({
      state: 'failed',
      failure: 'image-pull',
      reason: 'ErrImagePull',
      message: 'Failed to pull image "elyra/kernel-py:nope": manifest unknown',
      image: IMAGE,
    });
  });

  it('the bare "Error: ErrImagePull" event alone still fails, with its reason', () => {
    const p = scheduledPod(waiting('ContainerCreating'));
    const evs = [event('Failed', 'Error: ImagePullBackOff', { type: 'Warning' })];
    expect(classifyPod(p, evs)).toMatchObject({ state: 'failed', failure: 'image-pull', reason: 'ImagePullBackOff', message: 'Error: ImagePullBackOff' });
  });

  it('an old pull failure followed by a successful pull is not a failure', () => {
    const p = scheduledPod(waiting('ContainerCreating'));
    const evs = [
      event('Failed', 'Error: ErrImagePull', { type: 'Warning', at: '2026-11-23T22:00:03Z' }),
      event('Pulled', `Successfully pulled image "${IMAGE}"`, { at: '2026-11-23T22:00:09Z' }),
    ];
    expect(classifyPod(p, evs).failure).toBeUndefined();
  });

  it('CreateContainerConfigError (missing secret) fails as container-config', () => {
    const msg = 'secret "kernel-creds" not found';
    const c = classifyPod(scheduledPod(waiting('CreateContainerConfigError', msg)));
    expect(c).toMatchObject({ state: 'failed', failure: 'container-config', reason: 'CreateContainerConfigError', message: msg });
  });

  it('CreateContainerError fails as container-config', () => {
    expect(classifyPod(scheduledPod(waiting('CreateContainerError', 'executable file not found'))).failure).toBe('container-config');
  });

  it('CrashLoopBackOff fails with the last exit code', () => {
    const cs = waiting('CrashLoopBackOff', `back-off 10s restarting failed container=${POD_NAME}`, {
      restartCount: 2,
      lastState: { terminated: { exitCode: 3, reason: 'Error', message: 'ModuleNotFoundError: ipykernel' } },
    });
    const c = classifyPod(scheduledPod(cs, { phase: 'Running', podIP: '10.244.1.17' }));
    expect(c).toMatchObject({ state: 'failed', failure: 'container-failed', reason: 'CrashLoopBackOff', exitCode: 3 });
    expect(c.message).toContain('exited with code 3');
    expect(c.message).toContain('ModuleNotFoundError');
  });

  it('a container that exited non-zero (restartPolicy Never, phase Failed) fails with its exit code', () => {
    const c = classifyPod(pod({ phase: 'Failed', nodeName: 'node-1', conditions: [scheduledCondition], containerStatuses: [terminated(1)] }));
    expect(c).toMatchObject({ state: 'failed', failure: 'container-failed', reason: 'Error', exitCode: 1 });
    expect(c.message).toContain('exited with code 1');
  });

  it('a terminated container fails even while the phase still says Running', () => {
    const c = classifyPod(runningPod({ containerStatuses: [terminated(137, 'OOMKilled')] }));
    expect(c).toMatchObject({ state: 'failed', failure: 'container-failed', reason: 'OOMKilled', exitCode: 137 });
  });

  it('a restarted container (restartPolicy Always) fails with its last exit', () => {
    const cs = { ...running(), restartCount: 1, lastState: { terminated: { exitCode: 2, reason: 'Error' } } };
    const c = classifyPod(runningPod({ containerStatuses: [cs] }));
    expect(c).toMatchObject({ state: 'failed', failure: 'container-failed', exitCode: 2 });
    expect(c.message).toContain('restarted 1 time');
  });

  it('a container that exited 0 is succeeded, which is not ready', () => {
    const c = classifyPod(pod({ phase: 'Succeeded', containerStatuses: [terminated(0, 'Completed')] }));
    expect(c).toMatchObject({ state: 'succeeded', exitCode: 0, failure: 'container-failed' });
  });

  it('an init container that exits non-zero fails; one that exits 0 does not', () => {
    const bad = { ...terminated(1), name: 'init-home' };
    expect(classifyPod(scheduledPod(waiting('PodInitializing'), { initContainerStatuses: [bad] }))).toMatchObject({ state: 'failed', container: 'init-home' });
    const ok = { ...terminated(0, 'Completed'), name: 'init-home' };
    expect(classifyPod(scheduledPod(waiting('PodInitializing'), { initContainerStatuses: [ok] })).state).toBe('scheduled');
  });

  it('an evicted pod fails with the eviction reason and message', () => {
    const c = classifyPod(pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' }));
    expect(c).toMatchObject({ state: 'failed', failure: 'pod-failed', reason: 'Evicted', message: 'The node was low on resource: memory.' });
  });

  it('a pod with a deletionTimestamp is gone, even if its container was killed', () => {
    const c = classifyPod(runningPod({ deletionTimestamp: '2026-11-23T22:01:00Z', containerStatuses: [terminated(137)] }));
    expect(c).toMatchObject({ state: 'gone', failure: 'deleted' });
  });
});

describe('classifyPod: unschedulable', () => {
  const msg = '0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';
  const unschedulable = pod({
    conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: msg }],
  });

  it('fails with the scheduler message', () => {
    expect(classifyPod(unschedulable)).toMatchObject({ state: 'failed', failure: 'unschedulable', reason: 'Unschedulable', message: msg });
  });

  it('a FailedScheduling event alone is enough', () => {
    const evs = [event('FailedScheduling', msg, { type: 'Warning', component: 'default-scheduler' })];
    expect(classifyPod(pod(), evs)).toMatchObject({ state: 'failed', failure: 'unschedulable', message: msg });
  });

  it('keeps waiting when the cluster autoscaler triggered a scale-up', () => {
    const evs = [event('TriggeredScaleUp', 'pod triggered scale-up: [{gpu-pool 0->1 (max: 4)}]', { component: 'cluster-autoscaler' })];
    expect(classifyPod(unschedulable, evs)).toMatchObject({ state: 'pending', reason: 'TriggeredScaleUp' });
  });

  it('keeps waiting when asked to', () => {
    expect(classifyPod(unschedulable, [], { unschedulable: 'wait' })).toMatchObject({ state: 'pending', reason: 'Unschedulable', message: msg });
  });

  it('a scheduled pod is not unschedulable because of an older FailedScheduling event', () => {
    const evs = [event('FailedScheduling', msg, { type: 'Warning', component: 'default-scheduler' })];
    expect(classifyPod(scheduledPod(waiting('ContainerCreating')), evs).state).toBe('scheduled');
  });
});

describe('events helpers', () => {
  it('sorts by lastTimestamp, falling back to eventTime', () => {
    const a = event('A', 'a', { at: '2026-11-23T22:00:30Z' });
    const b = { ...event('B', 'b'), lastTimestamp: null, firstTimestamp: null, eventTime: '2026-11-23T22:00:20.123456Z' };
    const c = event('C', 'c', { at: '2026-11-23T22:00:40Z' });
    expect(sortEvents([c, a, b]).map((e) => e.reason)).toEqual(['B', 'A', 'C']);
  });

  it('accepts Date timestamps (client-node models)', () => {
    const a = { ...event('A', 'a'), lastTimestamp: new Date('2026-11-23T22:00:50Z') };
    const b = event('B', 'b', { at: '2026-11-23T22:00:10Z' });
    expect(sortEvents([a, b]).map((e) => e.reason)).toEqual(['B', 'A']);
  });

  it('filters to events about the pod', () => {
    const p = pod();
    const mine = event('Scheduled', 'x');
    expect(eventsForPod(p, [mine, event('Scheduled', 'y', { name: 'other' }), event('X', 'z', { kind: 'SparkApplication' })])).toEqual([mine]);
  });
});

describe('classifySparkApplication', () => {
  it.each([
    [undefined, 'pending', 'NEW'],
    ['', 'pending', 'NEW'],
    ['SUBMITTED', 'pending', 'SUBMITTED'],
    ['PENDING_RERUN', 'pending', 'PENDING_RERUN'],
    ['UNKNOWN', 'pending', 'UNKNOWN'],
    ['RUNNING', 'running', 'RUNNING'],
    ['COMPLETED', 'succeeded', 'COMPLETED'],
    ['FAILING', 'failed', 'FAILING'],
    ['FAILED', 'failed', 'FAILED'],
    ['SUBMISSION_FAILED', 'failed', 'SUBMISSION_FAILED'],
  ])('state %s → %s', (appState, state, reason) => {
    expect(classifySparkApplication(sparkApp(appState))).toMatchObject({ state, reason });
  });

  it('carries errorMessage and the driver pod name', () => {
    const msg = 'failed to run spark-submit for SparkApplication kernels/x: Exception in thread "main" ... forbidden';
    const c = classifySparkApplication(sparkApp('SUBMISSION_FAILED', msg, `${POD_NAME}-driver`));
    expect(c).toMatchObject({ state: 'failed', failure: 'spark-failed', message: msg, driverPodName: `${POD_NAME}-driver` });
  });

  it('a deleting application is gone', () => {
    const app = sparkApp('RUNNING');
    app.metadata!.deletionTimestamp = '2026-11-23T22:01:00Z';
    expect(classifySparkApplication(app)).toMatchObject({ state: 'gone', failure: 'deleted' });
  });
});
