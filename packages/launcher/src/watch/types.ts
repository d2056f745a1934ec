/**
 * Minimal wire shapes of the Kubernetes objects the watch code reads. They describe the JSON the API
 * server sends (timestamps are RFC 3339 strings) but also accept client-node's typed models (where
 * timestamps are `Date`), so a caller may pass either.
 */
export type Timestamp = string | Date;

export interface ObjectMetaLike {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: Timestamp;
  deletionTimestamp?: Timestamp | null;
}

/** Any object from a list or watch: only `metadata` is relied on. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMetaLike;
}

export interface ContainerStateLike {
  waiting?: { reason?: string; message?: string } | null;
  running?: { startedAt?: Timestamp } | null;
  terminated?: {
    exitCode?: number;
    signal?: number;
    reason?: string;
    message?: string;
    startedAt?: Timestamp;
    finishedAt?: Timestamp;
  } | null;
}

export interface ContainerStatusLike {
  name?: string;
  image?: string;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  state?: ContainerStateLike | null;
  lastState?: ContainerStateLike | null;
}

export interface PodConditionLike {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: Timestamp;
}

export interface PodLike extends KubeObject {
  spec?: {
    nodeName?: string;
    containers?: { name?: string; image?: string }[];
    initContainers?: { name?: string; image?: string }[];
  };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    podIP?: string;
    hostIP?: string;
    conditions?: PodConditionLike[];
    containerStatuses?: ContainerStatusLike[];
    initContainerStatuses?: ContainerStatusLike[];
  };
}

/** A core/v1 Event. */
export interface EventLike extends KubeObject {
  involvedObject?: { kind?: string; name?: string; namespace?: string; uid?: string };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  firstTimestamp?: Timestamp | null;
  lastTimestamp?: Timestamp | null;
  eventTime?: Timestamp | null;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
}

/** A `sparkoperator.k8s.io/v1beta2` SparkApplication (status part only). */
export interface SparkApplicationLike extends KubeObject {
  status?: {
    applicationState?: { state?: string; errorMessage?: string };
    driverInfo?: { podName?: string; webUIAddress?: string };
    submissionAttempts?: number;
    executionAttempts?: number;
  };
}
