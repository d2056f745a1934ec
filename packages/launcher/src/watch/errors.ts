import { GpError, type GpErrorOptions } from '@gp/core';

/** A non-2xx answer from the API server to a list or watch request. */
export class KubeApiError extends GpError {
  constructor(
    readonly statusCode: number,
    readonly reason: string | undefined,
    readonly apiMessage: string | undefined,
    readonly path: string,
    options: GpErrorOptions = {},
  ) {
    super(
      'GP_KUBE_API_ERROR',
      `Kubernetes API request GET ${path} failed with HTTP ${statusCode}${reason ? ` (${reason})` : ''}${apiMessage ? `: ${apiMessage}` : ''}.` +
        (statusCode === 401 || statusCode === 403
          ? ' Check the credentials and that the RBAC role of the host allows list and watch on this resource.'
          : statusCode === 404
            ? ' Check that the resource exists on this cluster (a CRD such as SparkApplication must be installed).'
            : ''),
      { ...options, details: { statusCode, reason, path, ...options.details } },
    );
  }
}

/** The local inactivity timer fired: nothing, not even a bookmark, arrived for too long. */
export class WatchInactivityError extends GpError {
  constructor(readonly path: string, readonly inactivityMs: number) {
    super(
      'GP_WATCH_INACTIVE',
      `No data on the watch of ${path} for ${inactivityMs} ms; the connection is presumed dead and will be reopened.`,
      { details: { path, inactivityMs } },
    );
  }
}

/** The codes a failed kernel launch can carry. */
export const KernelLaunchCodes = {
  imagePull: 'GP_KERNEL_IMAGE_PULL_FAILED',
  unschedulable: 'GP_KERNEL_UNSCHEDULABLE',
  containerConfig: 'GP_KERNEL_CONTAINER_CONFIG_INVALID',
  containerFailed: 'GP_KERNEL_CONTAINER_FAILED',
  podFailed: 'GP_KERNEL_POD_FAILED',
  podDeleted: 'GP_KERNEL_POD_DELETED',
  sparkFailed: 'GP_SPARK_APPLICATION_FAILED',
  timeout: 'GP_KERNEL_LAUNCH_TIMEOUT',
  cancelled: 'GP_KERNEL_LAUNCH_CANCELLED',
} as const;
export type KernelLaunchCode = (typeof KernelLaunchCodes)[keyof typeof KernelLaunchCodes];

/** A recent event, as carried in errors and progress (a trimmed core/v1 Event). */
export interface EventSummary {
  /** `Normal` or `Warning`. */
  type?: string;
  reason?: string;
  message?: string;
  /** `Pod/name` or `SparkApplication/name`. */
  object?: string;
  count?: number;
  /** ISO time of the last occurrence. */
  at?: string;
  /** Reporting component (kubelet, default-scheduler, spark-operator...). */
  source?: string;
}

export interface KernelLaunchFailure {
  kernelId: string;
  namespace: string;
  /** Pod (or SparkApplication) name, when known. */
  resourceName?: string;
  /** The Kubernetes reason (`ErrImagePull`, `Unschedulable`, `SUBMISSION_FAILED`, `Timeout`...). */
  reason: string;
  /** Kubernetes' own message for it. */
  message?: string;
  /** The launch phase the kernel was in when it failed (`waiting-for-pod`, `pending`, `pulling`...). */
  phase: string;
  /** The last events about the kernel's resources, oldest first. */
  events: EventSummary[];
  container?: string;
  image?: string;
  exitCode?: number;
  elapsedMs?: number;
  /** Why the watch itself could not follow the kernel, when that is the case. */
  watchError?: string;
}

const ADVICE: Record<KernelLaunchCode, string> = {
  GP_KERNEL_IMAGE_PULL_FAILED:
    'Check the kernel image name and tag (KERNEL_IMAGE / image_name), that the registry is reachable from the nodes and that imagePullSecrets grant access.',
  GP_KERNEL_UNSCHEDULABLE:
    'No node can run the pod: lower the requested KERNEL_CPUS / KERNEL_MEMORY / KERNEL_GPUS, or add capacity, or fix node selectors and tolerations.',
  GP_KERNEL_CONTAINER_CONFIG_INVALID:
    'The container cannot be created from the pod spec: check that the secrets and config maps it references exist in the kernel namespace.',
  GP_KERNEL_CONTAINER_FAILED: 'The kernel container exited during startup: check the pod logs (kubectl logs) and the kernel image.',
  GP_KERNEL_POD_FAILED: 'Kubernetes failed the pod: see the reason and the events.',
  GP_KERNEL_POD_DELETED: 'The kernel pod was deleted during the launch (by a user, a controller or a namespace deletion).',
  GP_SPARK_APPLICATION_FAILED: 'Check the Spark Operator logs and the SparkApplication status (kubectl describe sparkapplication).',
  GP_KERNEL_LAUNCH_TIMEOUT:
    'Raise launch_timeout (or request a larger KERNEL_LAUNCH_TIMEOUT within the administrator maximum) if the phase above is only slow.',
  GP_KERNEL_LAUNCH_CANCELLED: 'The launch was cancelled by the host.',
};

function formatEvents(events: EventSummary[]): string {
  if (events.length === 0) return '';
  const last = events.slice(-5).map((e) => `${e.type === 'Warning' ? 'Warning ' : ''}${e.reason ?? ''}: ${e.message ?? ''}`.trim());
  return ` Last events: ${last.join(' | ')}.`;
}

/**
 * A kernel launch that ended without a ready kernel, with the cause Kubernetes reported. `details` holds
 * the whole {@link KernelLaunchFailure} (reason, message, phase, last events) for hosts to show.
 */
export class KernelLaunchError extends GpError {
  readonly failure: KernelLaunchFailure;

  constructor(code: KernelLaunchCode, summary: string, failure: KernelLaunchFailure, options: GpErrorOptions = {}) {
    const reasonText = failure.message ? `${failure.reason}: ${failure.message}` : failure.reason;
    super(
      code,
      `Kernel ${failure.kernelId} failed to start in namespace ${failure.namespace}: ${summary} (${reasonText}; phase ${failure.phase}).` +
        `${formatEvents(failure.events)}${failure.watchError ? ` Watch error: ${failure.watchError}.` : ''} ${ADVICE[code]}`,
      {
        httpStatus: code === 'GP_KERNEL_LAUNCH_TIMEOUT' ? 504 : code === 'GP_KERNEL_LAUNCH_CANCELLED' ? 499 : 500,
        ...options,
        details: { ...failure, ...options.details },
      },
    );
    this.failure = failure;
  }

  get reason(): string {
    return this.failure.reason;
  }

  get phase(): string {
    return this.failure.phase;
  }

  get events(): EventSummary[] {
    return this.failure.events;
  }
}

export function isKernelLaunchError(e: unknown): e is KernelLaunchError {
  return e instanceof KernelLaunchError;
}
