/**
 * Pure classification of a kernel pod (and its recent events) or a SparkApplication into a launch state.
 * No I/O: the readiness code feeds it objects from the shared watches' caches.
 */
import type { ContainerStatusLike, EventLike, PodLike, SparkApplicationLike, Timestamp } from './types.js';

/** Where a kernel's resource is in its launch. */
export type KernelState = 'pending' | 'scheduled' | 'pulling' | 'running' | 'failed' | 'succeeded' | 'gone';

/** Why a launch failed, when `state` is `failed`, `succeeded` or `gone`. */
export type FailureKind =
  | 'image-pull'
  | 'unschedulable'
  | 'container-config'
  | 'container-failed'
  | 'pod-failed'
  | 'deleted'
  | 'spark-failed';

export interface Classification {
  state: KernelState;
  /** A Kubernetes reason (`ErrImagePull`, `Unschedulable`, `OOMKilled`, `SUBMISSION_FAILED`...). */
  reason?: string;
  /** The message that goes with `reason` (the scheduler's, the kubelet's, the operator's `errorMessage`). */
  message?: string;
  /** Set when the resource can no longer become ready. */
  failure?: FailureKind;
}

export interface PodClassification extends Classification {
  /** `status.phase` as reported (`Pending`, `Running`...). */
  phase?: string;
  /** The container the reason is about. */
  container?: string;
  image?: string;
  exitCode?: number;
  podIP?: string;
  hostIP?: string;
  nodeName?: string;
  /** Some container has started running. */
  started: boolean;
  /** A `Pulled` event was seen for this pod. */
  pulled: boolean;
  /** A `Pulling` event was seen for this pod. */
  pulling: boolean;
}

export interface ClassifyPodOptions {
  /**
   * `fail` (default): an unschedulable pod fails the launch at once with the scheduler's message. A
   * `TriggeredScaleUp` event from the cluster autoscaler keeps it pending either way.
   * `wait`: keep waiting (until the launch timeout) for capacity to appear.
   */
  unschedulable?: 'fail' | 'wait';
}

/** Waiting reasons that mean the image will not be pulled without someone fixing the name, tag or credentials. */
export const IMAGE_PULL_REASONS: ReadonlySet<string> = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'RegistryUnavailable',
  'SignatureValidationFailed',
]);

/** Waiting reasons meaning the container cannot be created from the pod spec (missing secret/configmap key...). */
export const CONTAINER_CONFIG_REASONS: ReadonlySet<string> = new Set([
  'CreateContainerConfigError',
  'CreateContainerError',
  'PreCreateHookError',
]);

/** Waiting reasons meaning the container was created but fails to run. */
export const CONTAINER_RUN_REASONS: ReadonlySet<string> = new Set([
  'CrashLoopBackOff',
  'RunContainerError',
  'PreStartHookError',
  'PostStartHookError',
]);

const IMAGE_PULL_EVENT = /ErrImagePull|ImagePullBackOff|InvalidImageName|ErrImageNeverPull|Failed to pull image|failed to pull and unpack|Failed to inspect image/i;

export function timestampMs(t: Timestamp | null | undefined): number | undefined {
  if (t === undefined || t === null || t === '') return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/** When an event last happened: `lastTimestamp`, else `eventTime`, else `firstTimestamp`, else creation. */
export function eventTimeMs(e: EventLike): number {
  return (
    timestampMs(e.lastTimestamp) ??
    timestampMs(e.eventTime) ??
    timestampMs(e.firstTimestamp) ??
    timestampMs(e.metadata?.creationTimestamp) ??
    0
  );
}

/** Events sorted oldest first (stable for equal times). */
export function sortEvents<E extends EventLike>(events: readonly E[]): E[] {
  return events
    .map((e, i) => ({ e, i, t: eventTimeMs(e) }))
    .sort((a, b) => a.t - b.t || a.i - b.i)
    .map((x) => x.e);
}

/** The events that are about this pod: same name and, when both sides know it, the same uid. */
export function eventsForPod(pod: PodLike, events: readonly EventLike[]): EventLike[] {
  const name = pod.metadata?.name;
  const uid = pod.metadata?.uid;
  return events.filter((e) => {
    const io = e.involvedObject;
    if (!io || io.name !== name) return false;
    if (io.kind !== undefined && io.kind !== 'Pod') return false;
    if (uid && io.uid && io.uid !== uid) return false;
    return true;
  });
}

function containerImage(pod: PodLike, status: ContainerStatusLike, init: boolean): string | undefined {
  const specs = init ? pod.spec?.initContainers : pod.spec?.containers;
  return specs?.find((c) => c.name === status.name)?.image ?? status.image;
}

function describeExit(t: NonNullable<NonNullable<ContainerStatusLike['state']>['terminated']>): string {
  const parts = [`exited with code ${t.exitCode ?? 'unknown'}`];
  if (t.signal) parts.push(`signal ${t.signal}`);
  if (t.reason) parts.push(`reason ${t.reason}`);
  let s = parts.join(', ');
  if (t.message) s += `: ${t.message.trim()}`;
  return s;
}

/** A failure found in one container status, or undefined. */
function containerFailure(
  pod: PodLike,
  cs: ContainerStatusLike,
  init: boolean,
): Omit<PodClassification, 'started' | 'pulled' | 'pulling'> | undefined {
  const name = cs.name;
  const image = containerImage(pod, cs, init);
  const waiting = cs.state?.waiting;
  const base = { container: name, image };
  if (waiting?.reason) {
    const reason = waiting.reason;
    if (IMAGE_PULL_REASONS.has(reason)) {
      return { ...base, state: 'failed', failure: 'image-pull', reason, message: waiting.message ?? `cannot pull image ${image ?? ''}`.trim() };
    }
    if (CONTAINER_CONFIG_REASONS.has(reason)) {
      return { ...base, state: 'failed', failure: 'container-config', reason, message: waiting.message ?? reason };
    }
    if (CONTAINER_RUN_REASONS.has(reason)) {
      const last = cs.lastState?.terminated;
      const detail = last ? `container ${describeExit(last)}` : undefined;
      const message = [waiting.message, detail].filter(Boolean).join('; ') || reason;
      return { ...base, state: 'failed', failure: 'container-failed', reason, message, exitCode: last?.exitCode };
    }
  }
  const term = cs.state?.terminated;
  if (term && (!init || (term.exitCode ?? 1) !== 0)) {
    return {
      ...base,
      state: 'failed',
      failure: 'container-failed',
      reason: term.reason ?? 'Terminated',
      message: `container ${name ?? ''} ${describeExit(term)}`.replace(/ {2}/, ' '),
      exitCode: term.exitCode,
    };
  }
  const last = cs.lastState?.terminated;
  if (!init && last && (cs.restartCount ?? 0) > 0) {
    return {
      ...base,
      state: 'failed',
      failure: 'container-failed',
      reason: last.reason ?? 'Restarted',
      message: `container ${name ?? ''} ${describeExit(last)} and was restarted ${cs.restartCount} time(s)`.replace(/ {2}/, ' '),
      exitCode: last.exitCode,
    };
  }
  return undefined;
}

/**
 * Classifies a kernel pod. `events` may hold any events (they are filtered to this pod by name and uid);
 * they let an image-pull or scheduling failure be seen before the pod status says so, and tell
 * `pulling` from `scheduled`.
 */
export function classifyPod(pod: PodLike, events: readonly EventLike[] = [], options: ClassifyPodOptions = {}): PodClassification {
  const status = pod.status ?? {};
  const mine = sortEvents(eventsForPod(pod, events));
  const containerStatuses = status.containerStatuses ?? [];
  const started = containerStatuses.some((c) => !!c.state?.running);
  const lastPulling = lastIndex(mine, (e) => e.reason === 'Pulling');
  const lastPulled = lastIndex(mine, (e) => e.reason === 'Pulled');
  const pulled = lastPulled >= 0;
  const pulling = lastPulling >= 0;
  const common = {
    phase: status.phase,
    podIP: status.podIP || undefined,
    hostIP: status.hostIP || undefined,
    nodeName: pod.spec?.nodeName || undefined,
    started,
    pulled,
    pulling,
  };

  if (pod.metadata?.deletionTimestamp) {
    return { ...common, state: 'gone', failure: 'deleted', reason: 'Terminating', message: `pod ${pod.metadata.name ?? ''} is being deleted` };
  }

  for (const cs of status.initContainerStatuses ?? []) {
    const f = containerFailure(pod, cs, true);
    if (f) return { ...common, ...f };
  }

  if (status.phase === 'Failed') {
    const terminated = containerStatuses.find((c) => c.state?.terminated);
    if (terminated) {
      const f = containerFailure(pod, terminated, false);
      if (f) return { ...common, ...f, failure: status.reason ? 'pod-failed' : f.failure, reason: status.reason ?? f.reason, message: status.message ?? f.message };
    }
    return { ...common, state: 'failed', failure: 'pod-failed', reason: status.reason ?? 'Failed', message: status.message ?? 'the pod failed' };
  }

  for (const cs of containerStatuses) {
    const f = containerFailure(pod, cs, false);
    if (f) {
      if (status.phase === 'Succeeded') return { ...common, ...f, state: 'succeeded' };
      return { ...common, ...f };
    }
  }
  if (status.phase === 'Succeeded') {
    return { ...common, state: 'succeeded', failure: 'container-failed', reason: 'Completed', message: 'all containers exited successfully' };
  }

  // Image pull failures often show in an event before the container status is updated.
  if (!started) {
    const pullFailure = [...mine].reverse().find(
      (e) => (e.reason === 'Failed' || e.reason === 'InspectFailed' || e.reason === 'ErrImageNeverPull' || e.reason === 'BackOff') &&
        IMAGE_PULL_EVENT.test(e.message ?? '') && eventsAfter(mine, e, (x) => x.reason === 'Pulled'),
    );
    if (pullFailure) {
      const since = mine.slice(lastPulled + 1);
      const m = [...since].reverse().map((e) => /ErrImagePull|ImagePullBackOff|InvalidImageName|ErrImageNeverPull/.exec(e.message ?? '')).find(Boolean);
      // "Error: ErrImagePull" names the reason; "Failed to pull image ...: <registry error>" says why.
      const detailed = [...since].reverse().find((e) => /Failed to pull image|failed to pull and unpack|Failed to inspect image|couldn't parse image/i.test(e.message ?? ''));
      return {
        ...common,
        state: 'failed',
        failure: 'image-pull',
        reason: m?.[0] ?? 'ErrImagePull',
        message: detailed?.message ?? pullFailure.message,
        ...(pod.spec?.containers?.[0]?.image ? { image: pod.spec.containers[0].image } : {}),
      };
    }
  }

  const scheduledCond = status.conditions?.find((c) => c.type === 'PodScheduled');
  const isScheduled = scheduledCond?.status === 'True' || !!pod.spec?.nodeName;
  if (!isScheduled) {
    const unschedulable =
      scheduledCond?.status === 'False' && scheduledCond.reason === 'Unschedulable'
        ? { reason: 'Unschedulable', message: scheduledCond.message }
        : lastOf(mine, (e) => e.reason === 'FailedScheduling')
          ? { reason: 'Unschedulable', message: lastOf(mine, (e) => e.reason === 'FailedScheduling')?.message }
          : undefined;
    if (unschedulable) {
      const scaleUp = lastOf(mine, (e) => e.reason === 'TriggeredScaleUp');
      if (scaleUp) return { ...common, state: 'pending', reason: 'TriggeredScaleUp', message: scaleUp.message };
      if ((options.unschedulable ?? 'fail') === 'wait') return { ...common, state: 'pending', ...unschedulable };
      return { ...common, state: 'failed', failure: 'unschedulable', reason: 'Unschedulable', message: unschedulable.message ?? 'no node can run the pod' };
    }
    return { ...common, state: 'pending', reason: scheduledCond?.reason, message: scheduledCond?.message };
  }

  if (status.phase === 'Running' && common.podIP) {
    return { ...common, state: 'running' };
  }

  const waiting = containerStatuses.find((c) => c.state?.waiting)?.state?.waiting;
  if (!started && pulling && lastPulling > lastPulled) {
    return { ...common, state: 'pulling', reason: 'Pulling', message: mine[lastPulling]?.message };
  }
  return { ...common, state: 'scheduled', reason: waiting?.reason, message: waiting?.message };
}

function lastIndex<T>(xs: readonly T[], pred: (x: T) => boolean): number {
  for (let i = xs.length - 1; i >= 0; i--) if (pred(xs[i] as T)) return i;
  return -1;
}

function lastOf<T>(xs: readonly T[], pred: (x: T) => boolean): T | undefined {
  const i = lastIndex(xs, pred);
  return i < 0 ? undefined : xs[i];
}

/** True when no event matching `pred` comes after `e` in the (sorted) list. */
function eventsAfter(sorted: readonly EventLike[], e: EventLike, pred: (x: EventLike) => boolean): boolean {
  const i = sorted.indexOf(e);
  return !sorted.slice(i + 1).some(pred);
}

export interface SparkApplicationClassification extends Classification {
  /** `status.applicationState.state` as reported (`SUBMITTED`, `RUNNING`...), `''` when not set yet. */
  appState: string;
  /** `status.driverInfo.podName` once the operator has submitted the application. */
  driverPodName?: string;
}

const SPARK_FAILED = new Set(['FAILED', 'SUBMISSION_FAILED', 'FAILING']);
const SPARK_DONE = new Set(['COMPLETED', 'SUCCEEDING']);
const SPARK_RUNNING = new Set(['RUNNING']);

/**
 * Classifies a SparkApplication by `status.applicationState.state`. `RUNNING` only means the driver was
 * started: the caller then follows the driver pod (`driverPodName`) to know when it has an IP.
 * `FAILING` counts as failed: with the kernel template's `restartPolicy: Never` it only leads to `FAILED`.
 */
export function classifySparkApplication(app: SparkApplicationLike): SparkApplicationClassification {
  const appState = app.status?.applicationState?.state ?? '';
  const errorMessage = app.status?.applicationState?.errorMessage || undefined;
  const driverPodName = app.status?.driverInfo?.podName || undefined;
  const base = { appState, driverPodName };
  if (app.metadata?.deletionTimestamp) {
    return { ...base, state: 'gone', failure: 'deleted', reason: 'Terminating', message: `SparkApplication ${app.metadata.name ?? ''} is being deleted` };
  }
  if (SPARK_FAILED.has(appState)) {
    return { ...base, state: 'failed', failure: 'spark-failed', reason: appState, message: errorMessage ?? `the Spark application is ${appState}` };
  }
  if (SPARK_DONE.has(appState)) {
    return { ...base, state: 'succeeded', failure: 'spark-failed', reason: appState, message: errorMessage ?? 'the Spark application completed before the kernel was ready' };
  }
  if (SPARK_RUNNING.has(appState)) return { ...base, state: 'running', reason: appState };
  // '', NEW, SUBMITTED, PENDING_RERUN, INVALIDATING, UNKNOWN: the operator is still working on it.
  return { ...base, state: 'pending', reason: appState || 'NEW', message: errorMessage };
}
