/**
 * Follows one kernel's pod (or SparkApplication and its driver pod) through the hub's shared watches:
 * readiness without polling, fail-fast with the cause, progress events, and afterwards a status read
 * from the watch cache (zero API requests per idle kernel).
 */
import { silentLogger, type Logger } from '@gp/core';
import {
  classifyPod,
  classifySparkApplication,
  eventTimeMs,
  sortEvents,
  type FailureKind,
  type PodClassification,
  type SparkApplicationClassification,
} from './classify.js';
import { KernelLaunchCodes, KernelLaunchError, type EventSummary, type KernelLaunchCode, type KernelLaunchFailure } from './errors.js';
import { routeKey, type WatchHub, type WatchLease } from './hub.js';
import { LaunchProgress, LAUNCH_MILESTONES, type LaunchMilestone, type LaunchProgressListener } from '../launch-policy/progress.js';
import type { ResourceRef, WatchNotification } from './resource-watch.js';
import type { EventLike, KubeObject, PodLike, SparkApplicationLike } from './types.js';

export interface SparkApplicationRef {
  name: string;
  group?: string;
  version?: string;
  plural?: string;
}

export interface KernelWatcherOptions {
  namespace: string;
  kernelId: string;
  /**
   * The kernel pod's name, when known; otherwise the pod carrying the kernel's `kernel_id` label.
   * Ignored for SparkApplications, whose kernel pod is the driver the operator names.
   */
  podName?: string;
  /** For Spark Operator kernels: the SparkApplication to follow (its driver pod is the kernel pod). */
  sparkApplication?: string | SparkApplicationRef;
  /** See {@link ClassifyPodOptions.unschedulable}; default `fail`. */
  unschedulable?: 'fail' | 'wait';
  /** How many recent events errors carry (default 10). */
  maxEvents?: number;
  /** A progress channel to emit on (to share it with the provisioner); one is created otherwise. */
  progress?: LaunchProgress;
  logger?: Logger;
}

/** Where a kernel is: the phase names used in progress, status and timeout errors. */
export type LaunchPhase =
  | 'waiting-for-sparkapplication'
  | 'spark-submitting'
  | 'waiting-for-pod'
  | 'pending'
  | 'scheduled'
  | 'pulling'
  | 'started'
  | 'running'
  | 'failed'
  | 'succeeded'
  | 'gone';

export interface KernelStatus {
  phase: LaunchPhase;
  pod?: PodLike;
  classification?: PodClassification;
  sparkApplication?: SparkApplicationLike;
  spark?: SparkApplicationClassification;
  /** Set when the kernel cannot (or can no longer) run: the error a launch would fail with. */
  error?: KernelLaunchError;
}

export interface KernelPlacement {
  podName: string;
  podIP: string;
  /** The node's IP (`status.hostIP`). */
  hostIP?: string;
  nodeName?: string;
  pod: PodLike;
  sparkApplication?: SparkApplicationLike;
}

export interface WaitOptions {
  signal?: AbortSignal;
  /** Fail with GP_KERNEL_LAUNCH_TIMEOUT after this long (see resolveLaunchTimeout). */
  timeoutMs?: number;
  /** Awaited before the promise rejects (delete the pod / namespace here); its errors are logged. */
  onFailure?: (error: KernelLaunchError) => Promise<void> | void;
  /**
   * On a failure seen before a Warning event about the kernel arrived, wait up to this long for it
   * (events travel on their own watch and often trail the pod status) so the error carries the
   * events. Default 1000 ms; 0 disables.
   */
  eventGraceMs?: number;
}

const FAILURE_CODES: Record<FailureKind, KernelLaunchCode> = {
  'image-pull': KernelLaunchCodes.imagePull,
  unschedulable: KernelLaunchCodes.unschedulable,
  'container-config': KernelLaunchCodes.containerConfig,
  'container-failed': KernelLaunchCodes.containerFailed,
  'pod-failed': KernelLaunchCodes.podFailed,
  deleted: KernelLaunchCodes.podDeleted,
  'spark-failed': KernelLaunchCodes.sparkFailed,
};

const FAILURE_SUMMARY: Record<FailureKind, string> = {
  'image-pull': 'the kernel image cannot be pulled',
  unschedulable: 'no node can run the kernel pod',
  'container-config': 'the kernel container cannot be created',
  'container-failed': 'the kernel container exited',
  'pod-failed': 'Kubernetes failed the kernel pod',
  deleted: 'the kernel pod was deleted',
  'spark-failed': 'the SparkApplication failed',
};

function isWorkerPod(pod: KubeObject): boolean {
  const l = pod.metadata?.labels ?? {};
  return l.component === 'worker' || l['spark-role'] === 'executor';
}

function eventKey(e: EventLike): string {
  return `${e.metadata?.namespace ?? ''}/${e.metadata?.name ?? ''}`;
}

function summarize(e: EventLike): EventSummary {
  const t = eventTimeMs(e);
  return {
    type: e.type,
    reason: e.reason,
    message: e.message,
    object: e.involvedObject ? `${e.involvedObject.kind ?? ''}/${e.involvedObject.name ?? ''}` : undefined,
    count: e.count,
    at: t ? new Date(t).toISOString() : undefined,
    source: e.source?.component ?? e.reportingComponent,
  };
}

export class KernelWatcher {
  readonly namespace: string;
  readonly kernelId: string;
  readonly progress: LaunchProgress;
  private readonly log: Logger;
  private readonly podLease: WatchLease<PodLike>;
  private readonly eventLease: WatchLease<EventLike>;
  private readonly sparkLease: WatchLease<SparkApplicationLike> | undefined;
  private readonly sparkName: string | undefined;
  private readonly unsubs: (() => void)[] = [];
  private eventUnsub: (() => void) | undefined;
  private eventPodName: string | undefined;
  private pod: PodLike | undefined;
  private podDeleted: PodLike | undefined;
  private app: SparkApplicationLike | undefined;
  private appDeleted = false;
  private readonly changeListeners = new Set<(s: KernelStatus) => void>();
  private readonly warningsSeen = new Set<string>();
  private readonly myEvents = new Map<string, EventLike>();
  private readonly eventWaiters = new Set<() => void>();
  private readonly closeHandlers = new Set<() => void>();
  private readonly ownsProgress: boolean;
  private lastMilestone = -1;
  private closed = false;
  private current: KernelStatus = { phase: 'waiting-for-pod' };

  constructor(
    private readonly hub: WatchHub,
    private readonly options: KernelWatcherOptions,
  ) {
    this.namespace = options.namespace;
    this.kernelId = options.kernelId;
    this.ownsProgress = !options.progress;
    this.progress = options.progress ?? new LaunchProgress(options.kernelId);
    this.log = (options.logger ?? silentLogger).child({ kernel_id: options.kernelId, namespace: options.namespace });
    const spark = typeof options.sparkApplication === 'string' ? { name: options.sparkApplication } : options.sparkApplication;
    this.sparkName = spark?.name;
    if (spark) this.current = { phase: 'waiting-for-sparkapplication' };

    this.podLease = hub.acquire<PodLike>(hub.podSpec(this.namespace));
    this.eventLease = hub.acquire<EventLike>(hub.eventSpec(this.namespace));
    const onPod = (n: WatchNotification<PodLike>): void => this.onPod(n);
    this.unsubs.push(this.podLease.subscribe(routeKey.kernel(this.kernelId), onPod));
    if (options.podName && !spark) this.unsubs.push(this.podLease.subscribe(routeKey.name(this.namespace, options.podName), onPod));
    if (spark) {
      const ref: Partial<ResourceRef> = { ...(spark.group ? { group: spark.group } : {}), ...(spark.version ? { version: spark.version } : {}), ...(spark.plural ? { plural: spark.plural } : {}) };
      this.sparkLease = hub.acquire<SparkApplicationLike>(hub.sparkApplicationSpec(this.namespace, ref));
      this.unsubs.push(this.sparkLease.subscribe(routeKey.name(this.namespace, spark.name), (n) => this.onApp(n)));
      this.unsubs.push(this.eventLease.subscribe(routeKey.involved(this.namespace, 'SparkApplication', spark.name), (n) => this.onEvent(n)));
      for (const e of this.eventLease.watch.list()) {
        if (e.involvedObject?.kind === 'SparkApplication' && e.involvedObject.name === spark.name && this.inNamespace(e)) this.myEvents.set(eventKey(e), e);
      }
      const existing = this.sparkLease.watch.get(spark.name, this.namespace);
      if (existing) this.app = existing;
    }
    // Objects the shared watches already hold (another kernel started them earlier).
    for (const p of this.podLease.watch.list()) if (this.accepts(p)) this.pod = this.pick(this.pod, p);
    this.evaluate();
  }

  /** The kernel's status from the watch caches (no API request). */
  status(): KernelStatus {
    return this.current;
  }

  /** The last `n` events about the kernel's pod and SparkApplication, oldest first. */
  recentEvents(n = this.options.maxEvents ?? 10): EventSummary[] {
    const uid = this.pod?.metadata?.uid ?? this.podDeleted?.metadata?.uid;
    const mine = [...this.myEvents.values()].filter((e) => {
      const io = e.involvedObject;
      return !(io?.kind === 'Pod' && uid && io.uid && io.uid !== uid);
    });
    return sortEvents(mine).slice(-n).map(summarize);
  }

  /** Called with the new status whenever it changes (also after the kernel is running). */
  onChange(listener: (s: KernelStatus) => void): () => void {
    this.changeListeners.add(listener);
    return () => {
      this.changeListeners.delete(listener);
    };
  }

  onProgress(listener: LaunchProgressListener): () => void {
    return this.progress.on(listener);
  }

  /**
   * Resolves with the pod's placement once it is Running with an IP; rejects with a KernelLaunchError
   * as soon as Kubernetes reports a cause that will not go away, at the timeout, or when `signal` aborts.
   */
  waitUntilRunning(options: WaitOptions = {}): Promise<KernelPlacement> {
    const started = Date.now();
    const result = new Promise<KernelPlacement>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let off: (() => void) | undefined;
      const onClose = (): void => finish(this.cancelledError(Date.now() - started, 'the watcher was closed'));
      const finish = (err: KernelLaunchError | undefined, placement?: KernelPlacement): void => {
        if (timer) clearTimeout(timer);
        off?.();
        this.closeHandlers.delete(onClose);
        options.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(placement as KernelPlacement);
      };
      const onAbort = (): void => finish(this.cancelledError(Date.now() - started, options.signal?.reason));
      let failing = false;
      const check = (s: KernelStatus): void => {
        if (failing) return;
        if (s.error) {
          failing = true;
          if (timer) clearTimeout(timer);
          void this.eventsArrived(options.eventGraceMs ?? 1000).then(() => {
            const error = this.current.error ?? s.error;
            if (error) finish(this.withElapsed(error, Date.now() - started));
          });
          return;
        }
        const placement = this.placement();
        if (placement) finish(undefined, placement);
      };
      if (options.signal?.aborted) return onAbort();
      if (this.closed) return finish(this.cancelledError(0, 'the watcher was closed'));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.closeHandlers.add(onClose);
      if (options.timeoutMs !== undefined) timer = setTimeout(() => finish(this.launchTimeoutError(options.timeoutMs ?? 0, { elapsedMs: Date.now() - started })), options.timeoutMs);
      off = this.onChange(check);
      check(this.current);
    });
    if (!options.onFailure) return result;
    const onFailure = options.onFailure;
    return result.catch(async (err: unknown) => {
      if (err instanceof KernelLaunchError) {
        try {
          await onFailure(err);
        } catch (cleanupError) {
          this.log.warn('cleanup after a failed launch failed', { error: cleanupError });
        }
      }
      throw err;
    });
  }

  /**
   * Resolves with the error once the kernel has failed (now or later): race it against the connection
   * info after {@link waitUntilRunning}, so a kernel that crashes while starting ends the launch at once.
   */
  whenFailed(signal?: AbortSignal): Promise<KernelLaunchError> {
    return new Promise((resolve) => {
      const now = this.current.error;
      if (now) return resolve(now);
      if (this.closed) return resolve(this.cancelledError(0, 'the watcher was closed'));
      const stop = (): void => {
        off();
        this.closeHandlers.delete(onClose);
        signal?.removeEventListener('abort', stop);
      };
      const off = this.onChange((s) => {
        if (s.error) {
          stop();
          resolve(s.error);
        }
      });
      // Closing the watcher settles the race with a GP_KERNEL_LAUNCH_CANCELLED error; an aborted
      // signal just stops listening.
      const onClose = (): void => {
        stop();
        resolve(this.cancelledError(0, 'the watcher was closed'));
      };
      this.closeHandlers.add(onClose);
      signal?.addEventListener('abort', stop, { once: true });
    });
  }

  /**
   * Resolves once a Warning event about the kernel is known (the kubelet, scheduler or operator
   * reporting the failure; earlier events of the same reporter arrived before it), or after `ms`.
   */
  private eventsArrived(ms: number): Promise<void> {
    const ready = (): boolean => [...this.myEvents.values()].some((e) => e.type === 'Warning');
    if (ready() || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.eventWaiters.delete(check);
        resolve();
      };
      const check = (): void => {
        if (ready()) done();
      };
      const t = setTimeout(done, ms);
      this.eventWaiters.add(check);
    });
  }

  /**
   * Releases the shared watches (the last kernel of a namespace stops them), settles pending waits
   * with GP_KERNEL_LAUNCH_CANCELLED, and ends the progress stream if the watcher created it.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.unsubs.splice(0)) u();
    this.eventUnsub?.();
    this.podLease.release();
    this.eventLease.release();
    this.sparkLease?.release();
    for (const h of [...this.closeHandlers]) h();
    this.closeHandlers.clear();
    // A channel passed in belongs to the caller (the provisioner emits its own milestones after this).
    if (this.ownsProgress) this.progress.close();
    this.changeListeners.clear();
  }

  // --- internals -----------------------------------------------------------------------------

  private inNamespace(e: EventLike): boolean {
    return (e.involvedObject?.namespace ?? e.metadata?.namespace ?? this.namespace) === this.namespace;
  }

  private driverPodName(): string | undefined {
    return this.app?.status?.driverInfo?.podName || undefined;
  }

  /** Is this pod the kernel's (not a Spark executor, and the expected name when one is known)? */
  private accepts(p: PodLike): boolean {
    if (p.metadata?.namespace && p.metadata.namespace !== this.namespace) return false;
    const name = p.metadata?.name;
    // For a SparkApplication the kernel pod is its driver (named by the operator, not `podName`).
    const driver = this.driverPodName();
    if (driver) return name === driver;
    if (this.options.podName && !this.sparkName) return name === this.options.podName;
    if (p.metadata?.labels?.kernel_id !== this.kernelId) return false;
    return !isWorkerPod(p);
  }

  /** Between two candidate pods, keep the newest (a restart creates a new pod with a new uid). */
  private pick(current: PodLike | undefined, next: PodLike): PodLike {
    if (!current || current.metadata?.uid === next.metadata?.uid || current.metadata?.name === next.metadata?.name) return next;
    const a = Date.parse(String(current.metadata?.creationTimestamp ?? 0)) || 0;
    const b = Date.parse(String(next.metadata?.creationTimestamp ?? 0)) || 0;
    return b >= a ? next : current;
  }

  private onPod(n: WatchNotification<PodLike>): void {
    if (this.closed) return;
    if (n.type === 'synced' || n.type === 'error') return this.evaluate();
    if (!this.accepts(n.object)) return;
    if (n.type === 'deleted') {
      if (!this.pod || this.pod.metadata?.uid === n.object.metadata?.uid || this.pod.metadata?.name === n.object.metadata?.name) {
        this.podDeleted = n.object;
        this.pod = undefined;
      }
    } else {
      const before = this.pod;
      this.pod = this.pick(this.pod, n.object);
      if (this.pod !== before && this.podDeleted && this.pod.metadata?.uid !== this.podDeleted.metadata?.uid) this.podDeleted = undefined;
    }
    this.evaluate();
  }

  private onApp(n: WatchNotification<SparkApplicationLike>): void {
    if (this.closed) return;
    if (n.type === 'added' || n.type === 'modified') {
      this.app = n.object;
      this.appDeleted = false;
      // The driver pod may already be in the pod cache.
      const driver = this.driverPodName();
      if (driver && this.pod?.metadata?.name !== driver) {
        const p = this.podLease.watch.get(driver, this.namespace);
        if (p) this.pod = p;
        else if (this.pod && !this.accepts(this.pod)) this.pod = undefined;
      }
    } else if (n.type === 'deleted') {
      this.app = n.object;
      this.appDeleted = true;
    }
    this.evaluate();
  }

  private onEvent(n: WatchNotification<EventLike>): void {
    if (this.closed) return;
    if (n.type === 'deleted') {
      this.myEvents.delete(eventKey(n.object));
    } else if (n.type === 'added' || n.type === 'modified') {
      const e = n.object;
      this.myEvents.set(eventKey(e), e);
      for (const w of [...this.eventWaiters]) w();
      if (e.type === 'Warning') {
        const key = `${e.metadata?.uid ?? e.metadata?.name}:${e.count ?? 1}`;
        if (!this.warningsSeen.has(key)) {
          this.warningsSeen.add(key);
          this.progress.emit('warning', `${e.reason ?? 'Warning'}: ${e.message ?? ''}`, { reason: e.reason, object: summarize(e).object });
        }
      }
      this.evaluate();
    }
  }

  /** Follow the events of the current pod (re-subscribing when the pod name changes). */
  private followPodEvents(name: string | undefined): void {
    if (name === this.eventPodName) return;
    this.eventUnsub?.();
    this.eventUnsub = undefined;
    this.eventPodName = name;
    for (const [k, e] of this.myEvents) if (e.involvedObject?.kind === 'Pod') this.myEvents.delete(k);
    if (!name) return;
    this.eventUnsub = this.eventLease.subscribe(routeKey.involved(this.namespace, 'Pod', name), (n) => this.onEvent(n));
    // Events recorded before we followed this pod (one scan of the shared cache per pod name).
    for (const e of this.eventLease.watch.list()) {
      if (e.involvedObject?.kind === 'Pod' && e.involvedObject.name === name && this.inNamespace(e)) this.myEvents.set(eventKey(e), e);
    }
  }

  private placement(): KernelPlacement | undefined {
    const c = this.current.classification;
    const pod = this.current.pod;
    if (this.current.phase !== 'running' || !c?.podIP || !pod?.metadata?.name) return undefined;
    return {
      podName: pod.metadata.name,
      podIP: c.podIP,
      hostIP: c.hostIP,
      nodeName: c.nodeName,
      pod,
      ...(this.app ? { sparkApplication: this.app } : {}),
    };
  }

  /** This kernel's events (pod and SparkApplication), maintained from its routed subscriptions. */
  private podEvents(): EventLike[] {
    return [...this.myEvents.values()];
  }

  private evaluate(): void {
    if (this.closed) return;
    this.followPodEvents(this.pod?.metadata?.name ?? this.podDeleted?.metadata?.name);
    const next = this.compute();
    this.emitMilestones(next);
    const changed =
      next.phase !== this.current.phase ||
      next.pod !== this.current.pod ||
      next.sparkApplication !== this.current.sparkApplication ||
      next.error?.code !== this.current.error?.code ||
      next.classification?.reason !== this.current.classification?.reason;
    this.current = next;
    if (changed) {
      this.log.debug('kernel status', { phase: next.phase, reason: next.classification?.reason ?? next.spark?.reason });
      for (const l of [...this.changeListeners]) {
        try {
          l(next);
        } catch (e) {
          this.log.warn('status listener threw', { error: e });
        }
      }
    }
  }

  private compute(): KernelStatus {
    const base: KernelStatus = { phase: 'waiting-for-pod' };
    let spark: SparkApplicationClassification | undefined;
    if (this.sparkName) {
      if (this.appDeleted) {
        return {
          phase: 'gone',
          sparkApplication: this.app,
          error: this.error(KernelLaunchCodes.sparkFailed, 'the SparkApplication was deleted', this.phaseBefore(), { reason: 'Deleted', message: `SparkApplication ${this.sparkName} was deleted` }),
        };
      }
      if (!this.app) return { phase: 'waiting-for-sparkapplication' };
      spark = classifySparkApplication(this.app);
      base.sparkApplication = this.app;
      base.spark = spark;
      if (spark.failure) {
        return {
          ...base,
          phase: spark.state === 'gone' ? 'gone' : spark.state === 'succeeded' ? 'succeeded' : 'failed',
          error: this.error(FAILURE_CODES[spark.failure], FAILURE_SUMMARY[spark.failure], `spark-${spark.appState.toLowerCase() || 'new'}`, {
            reason: spark.reason ?? spark.appState,
            message: spark.message,
          }),
        };
      }
      if (!this.pod && !this.podDeleted) return { ...base, phase: spark.driverPodName ? 'waiting-for-pod' : 'spark-submitting' };
    }
    if (!this.pod) {
      if (this.podDeleted) {
        const name = this.podDeleted.metadata?.name ?? '';
        return {
          ...base,
          phase: 'gone',
          error: this.error(KernelLaunchCodes.podDeleted, FAILURE_SUMMARY.deleted, this.phaseBefore(), { reason: 'Deleted', message: `pod ${name} was deleted` }),
        };
      }
      return base;
    }
    const c = classifyPod(this.pod, this.podEvents(), { unschedulable: this.options.unschedulable });
    const withPod: KernelStatus = { ...base, pod: this.pod, classification: c };
    if (c.failure && (c.state === 'failed' || c.state === 'succeeded' || c.state === 'gone')) {
      return {
        ...withPod,
        phase: c.state,
        error: this.error(FAILURE_CODES[c.failure], FAILURE_SUMMARY[c.failure], this.phaseBefore(), {
          reason: c.reason ?? c.state,
          message: c.message,
          container: c.container,
          image: c.image,
          exitCode: c.exitCode,
        }),
      };
    }
    const phase: LaunchPhase = c.state === 'running' ? 'running' : c.started ? 'started' : (c.state as LaunchPhase);
    return { ...withPod, phase };
  }

  /** The phase the launch was in before a failure (what the user waited on). */
  private phaseBefore(): string {
    const p = this.current.phase;
    return p === 'failed' || p === 'succeeded' || p === 'gone' ? (this.current.error?.phase ?? p) : p;
  }

  private error(
    code: KernelLaunchCode,
    summary: string,
    phase: string,
    f: Partial<KernelLaunchFailure> & { reason: string },
  ): KernelLaunchError {
    const resourceName = this.pod?.metadata?.name ?? this.podDeleted?.metadata?.name ?? this.options.podName ?? this.sparkName;
    const failure: KernelLaunchFailure = {
      kernelId: this.kernelId,
      namespace: this.namespace,
      ...(resourceName ? { resourceName } : {}),
      phase,
      events: this.recentEvents(),
      ...Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)),
      reason: f.reason,
    };
    return new KernelLaunchError(code, summary, failure);
  }

  private withElapsed(e: KernelLaunchError, elapsedMs: number): KernelLaunchError {
    return new KernelLaunchError(e.code as KernelLaunchCode, this.summaryOf(e), { ...e.failure, events: this.recentEvents(), elapsedMs });
  }

  private summaryOf(e: KernelLaunchError): string {
    const f = (Object.keys(FAILURE_CODES) as FailureKind[]).find((k) => FAILURE_CODES[k] === e.code);
    if (e.code === KernelLaunchCodes.sparkFailed && e.failure.reason === 'Deleted') return 'the SparkApplication was deleted';
    return f ? FAILURE_SUMMARY[f] : e.code;
  }

  private watchProblem(): string | undefined {
    const watches = [this.podLease.watch, this.eventLease.watch, ...(this.sparkLease ? [this.sparkLease.watch] : [])];
    const bad = watches.find((w) => w.lastError || !w.synced);
    if (!bad) return undefined;
    return `${bad.path}: ${bad.lastError?.message ?? 'not synced yet'}`;
  }

  /**
   * A GP_KERNEL_LAUNCH_TIMEOUT error naming the phase (the watcher's, or the caller's own such as
   * `waiting-for-connection-info`), the pod's last reason and the last events. The provisioner uses it
   * when its own wait (for the connection info) runs out.
   */
  launchTimeoutError(timeoutMs: number, options: { elapsedMs?: number; phase?: string } = {}): KernelLaunchError {
    const s = this.current;
    const phase = options.phase ?? s.phase;
    const c = s.classification;
    const detail = c?.reason ? `${c.reason}${c.message ? `: ${c.message}` : ''}` : s.spark?.reason ? `SparkApplication ${s.spark.reason}` : undefined;
    const seconds = Math.round(timeoutMs / 1000);
    const watchError = this.watchProblem();
    return new KernelLaunchError(KernelLaunchCodes.timeout, `the launch timed out after ${seconds} s while the kernel was in phase ${phase}`, {
      kernelId: this.kernelId,
      namespace: this.namespace,
      ...(this.pod?.metadata?.name ? { resourceName: this.pod.metadata.name } : this.sparkName ? { resourceName: this.sparkName } : {}),
      reason: 'LaunchTimeout',
      message: detail ?? (s.phase === 'running' ? `the pod is running but the kernel did not report in ${seconds} s` : `no ready pod after ${seconds} s`),
      phase,
      events: this.recentEvents(),
      elapsedMs: options.elapsedMs ?? timeoutMs,
      ...(watchError ? { watchError } : {}),
    });
  }

  private cancelledError(elapsedMs: number, reason: unknown): KernelLaunchError {
    return new KernelLaunchError(
      KernelLaunchCodes.cancelled,
      'the launch was cancelled',
      {
        kernelId: this.kernelId,
        namespace: this.namespace,
        reason: 'Cancelled',
        message: reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : undefined,
        phase: this.current.phase,
        events: this.recentEvents(),
        elapsedMs,
      },
      { cause: reason },
    );
  }

  private emitMilestones(s: KernelStatus): void {
    const c = s.classification;
    const reached = new Set<LaunchMilestone>();
    const implied: LaunchMilestone[] = [];
    if (s.sparkApplication) implied.push('resource-created');
    if (s.pod) implied.push('pod-created');
    if (c && (c.nodeName || c.state === 'scheduled' || c.state === 'pulling' || c.state === 'running' || c.started)) implied.push('scheduled');
    if (c?.started || c?.state === 'running') implied.push('started');
    if (c?.state === 'running' && s.phase === 'running') implied.push('pod-running');
    for (const m of implied) reached.add(m);
    if (c?.pulling && !c.started) reached.add('pulling');
    if (c?.pulled) reached.add('pulled');
    // The kubelet only pulls and starts on a node: those events imply the pod was scheduled, even
    // when they arrive (on the event watch) before the pod update that shows its node.
    if (reached.has('pulling') || reached.has('pulled') || reached.has('started')) reached.add('scheduled');
    const events = this.podEvents();
    const latest = (reason: string): EventLike | undefined => sortEvents(events.filter((e) => e.reason === reason)).pop();
    for (let i = this.lastMilestone + 1; i < LAUNCH_MILESTONES.length; i++) {
      const m = LAUNCH_MILESTONES[i] as LaunchMilestone;
      if (!reached.has(m)) continue;
      // Emit only forward: a late `Pulling` event after `started` is not replayed.
      const podName = s.pod?.metadata?.name;
      switch (m) {
        case 'resource-created':
          this.progress.emit(m, `SparkApplication ${this.sparkName ?? ''} created`, { name: this.sparkName });
          break;
        case 'pod-created':
          this.progress.emit(m, `Pod ${podName ?? ''} created`, { podName });
          break;
        case 'scheduled':
          this.progress.emit(m, latest('Scheduled')?.message ?? `Scheduled on node ${c?.nodeName ?? '(unknown)'}`, { nodeName: c?.nodeName });
          break;
        case 'pulling':
          this.progress.emit(m, latest('Pulling')?.message ?? 'Pulling the kernel image', {});
          break;
        case 'pulled':
          this.progress.emit(m, latest('Pulled')?.message ?? 'Kernel image pulled', {});
          break;
        case 'started':
          this.progress.emit(m, `Kernel container started`, { podName });
          break;
        case 'pod-running':
          this.progress.emit(m, `Pod ${podName ?? ''} running with IP ${c?.podIP ?? ''}`, { podName, podIP: c?.podIP, hostIP: c?.hostIP });
          break;
        default:
          break;
      }
      this.lastMilestone = i;
    }
  }
}

export interface WaitForKernelPodOptions extends KernelWatcherOptions, WaitOptions {
  onProgress?: LaunchProgressListener;
}

/**
 * One-shot form: follow the kernel until it runs (or fails), then release the watches. Use
 * {@link KernelWatcher} directly to keep following the kernel after the launch (status, poll).
 */
export async function waitForKernelPod(hub: WatchHub, options: WaitForKernelPodOptions): Promise<KernelPlacement> {
  // Attach the listener before the watcher exists: it may reach milestones while constructing.
  const progress = options.progress ?? new LaunchProgress(options.kernelId);
  const off = options.onProgress ? progress.on(options.onProgress) : undefined;
  const watcher = new KernelWatcher(hub, { ...options, progress });
  try {
    return await watcher.waitUntilRunning(options);
  } finally {
    off?.();
    watcher.close();
  }
}
