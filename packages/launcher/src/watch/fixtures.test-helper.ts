/**
 * Test fixtures shaped like what the API server returns for kernel pods, their events and
 * SparkApplications (JSON wire form). Used by the unit tests only.
 */
import type { ContainerStatusLike, EventLike, PodConditionLike, PodLike, SparkApplicationLike } from './types.js';

export const KERNEL_ID = '3f6a1c2e-8b4d-4e5f-9a0b-1c2d3e4f5a6b';
export const POD_NAME = `alice-${KERNEL_ID}`;
export const NAMESPACE = 'kernels';
export const POD_UID = '7d1c9a3e-0000-4000-8000-00000000a001';
export const IMAGE = 'elyra/kernel-py:3.2.3';

let rv = 1000;
export function nextRv(): string {
  return String(++rv);
}

export interface PodFixtureOptions {
  name?: string;
  kernelId?: string;
  uid?: string;
  phase?: string;
  nodeName?: string;
  podIP?: string;
  hostIP?: string;
  conditions?: PodConditionLike[];
  containerStatuses?: ContainerStatusLike[];
  initContainerStatuses?: ContainerStatusLike[];
  deletionTimestamp?: string;
  reason?: string;
  message?: string;
  labels?: Record<string, string>;
  resourceVersion?: string;
}

/** A kernel pod as rendered by the kernel-pod template, with the given status. */
export function pod(o: PodFixtureOptions = {}): PodLike {
  const name = o.name ?? POD_NAME;
  return {
    metadata: {
      name,
      namespace: NAMESPACE,
      uid: o.uid ?? POD_UID,
      resourceVersion: o.resourceVersion ?? nextRv(),
      creationTimestamp: '2026-11-23T22:00:00Z',
      labels: o.labels ?? { kernel_id: o.kernelId ?? KERNEL_ID, component: 'kernel', app: 'gateway-provisioners', source: 'kernel-pod.yaml' },
      annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' },
      ...(o.deletionTimestamp ? { deletionTimestamp: o.deletionTimestamp } : {}),
    },
    spec: {
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      containers: [{ name, image: IMAGE }],
    },
    status: {
      phase: o.phase ?? 'Pending',
      ...(o.reason ? { reason: o.reason } : {}),
      ...(o.message ? { message: o.message } : {}),
      ...(o.podIP ? { podIP: o.podIP } : {}),
      ...(o.hostIP ? { hostIP: o.hostIP } : {}),
      ...(o.conditions ? { conditions: o.conditions } : {}),
      ...(o.containerStatuses ? { containerStatuses: o.containerStatuses } : {}),
      ...(o.initContainerStatuses ? { initContainerStatuses: o.initContainerStatuses } : {}),
      qosClass: 'BestEffort',
    } as PodLike['status'],
  };
}

export const scheduledCondition: PodConditionLike = {
  type: 'PodScheduled',
  status: 'True',
  lastTransitionTime: '2026-11-23T22:00:01Z',
};

export function waiting(reason: string, message?: string, extra: Partial<ContainerStatusLike> = {}): ContainerStatusLike {
  return {
    name: POD_NAME,
    image: IMAGE,
    ready: false,
    started: false,
    restartCount: 0,
    state: { waiting: { reason, ...(message ? { message } : {}) } },
    ...extra,
  };
}

export function running(): ContainerStatusLike {
  return {
    name: POD_NAME,
    image: IMAGE,
    ready: true,
    started: true,
    restartCount: 0,
    state: { running: { startedAt: '2026-11-23T22:00:05Z' } },
  };
}

export function terminated(exitCode: number, reason = 'Error', message?: string): ContainerStatusLike {
  return {
    name: POD_NAME,
    image: IMAGE,
    ready: false,
    started: false,
    restartCount: 0,
    state: {
      terminated: { exitCode, reason, ...(message ? { message } : {}), startedAt: '2026-11-23T22:00:05Z', finishedAt: '2026-11-23T22:00:06Z' },
    },
  };
}

/** A pod scheduled on `node-1`, Pending, with its container in the given status. */
export function scheduledPod(cs: ContainerStatusLike, extra: PodFixtureOptions = {}): PodLike {
  return pod({
    nodeName: 'node-1',
    hostIP: '10.0.0.5',
    conditions: [scheduledCondition],
    containerStatuses: [cs],
    ...extra,
  });
}

export function runningPod(extra: PodFixtureOptions = {}): PodLike {
  return pod({
    phase: 'Running',
    nodeName: 'node-1',
    hostIP: '10.0.0.5',
    podIP: '10.244.1.17',
    conditions: [scheduledCondition, { type: 'Ready', status: 'True' }],
    containerStatuses: [running()],
    ...extra,
  });
}

let eventSeq = 0;
/** A core/v1 Event about the kernel pod, as the kubelet or scheduler reports it. */
export function event(
  reason: string,
  message: string,
  o: { type?: string; at?: string; component?: string; name?: string; uid?: string; kind?: string } = {},
): EventLike {
  const at = o.at ?? `2026-11-23T22:00:${String(10 + (eventSeq % 40)).padStart(2, '0')}Z`;
  eventSeq++;
  return {
    metadata: {
      name: `${o.name ?? POD_NAME}.${(0x17a000 + eventSeq).toString(16)}`,
      namespace: NAMESPACE,
      uid: `ev-${eventSeq}`,
      resourceVersion: nextRv(),
      creationTimestamp: at,
    },
    involvedObject: {
      kind: o.kind ?? 'Pod',
      namespace: NAMESPACE,
      name: o.name ?? POD_NAME,
      uid: o.uid ?? POD_UID,
      ...(o.kind === undefined || o.kind === 'Pod' ? { fieldPath: `spec.containers{${POD_NAME}}` } : {}),
    } as EventLike['involvedObject'],
    reason,
    message,
    type: o.type ?? 'Normal',
    count: 1,
    firstTimestamp: at,
    lastTimestamp: at,
    source: { component: o.component ?? 'kubelet', host: 'node-1' },
  };
}

export function sparkApp(state: string | undefined, errorMessage?: string, driverPodName?: string): SparkApplicationLike {
  return {
    apiVersion: 'sparkoperator.k8s.io/v1beta2',
    kind: 'SparkApplication',
    metadata: {
      name: POD_NAME,
      namespace: NAMESPACE,
      uid: 'a1a1a1a1-0000-4000-8000-00000000b001',
      resourceVersion: nextRv(),
      labels: { kernel_id: KERNEL_ID },
    },
    status: {
      ...(state !== undefined ? { applicationState: { state, ...(errorMessage ? { errorMessage } : {}) } } : {}),
      driverInfo: driverPodName ? { podName: driverPodName, webUIAddress: '10.96.0.12:4040' } : {},
      submissionAttempts: state ? 1 : 0,
    },
  };
}
