/**
 * The gateway's kernels: each a provisioner from `@gp/launcher` (chosen by the kernelspec's
 * `kernel_provisioner`), its iopub monitor, the WebSocket bridges connected to it, and its record in the
 * store. Launch, interrupt, restart, shutdown, re-attach after a gateway restart, the orphan sweep and
 * idle culling live here; HTTP lives in server.ts.
 */
import { randomUUID } from 'node:crypto';
import { GpError, namespaceModeOf, type KernelConnectionInfo, type Logger, type ResponseListener } from '@gp/core';
import {
  createProvisioner,
  deleteKernelResources,
  SPARK_APPLICATION,
  type KernelResourcesHandle,
  type PooledPodSource,
  type KubernetesProvisioner,
  type PreparedLaunch,
  type SparkOperatorProvisioner,
  type WatchHub,
} from '@gp/launcher';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { WebSocket } from 'ws';
import { ChannelBridge, KernelMonitor, controlRequest } from './channels.js';
import { curveUnsupported, KernelChannels } from './kernel-channels.js';
import { kernelsToCull, type CullPolicy } from './culling.js';
import { checkKernelLimits, type KernelLimitSettings } from './limits.js';
import { NotFoundError, type KernelSpecCatalog } from './kernelspecs.js';
import { AUTOMATIC_NAMESPACE, type MetricsSink } from './metrics/gateway-metrics.js';
import type { KernelRecord, KernelStore } from './store.js';

type Provisioner = KubernetesProvisioner | SparkOperatorProvisioner;
type InterruptMode = 'signal' | 'message';

/** The kernel model as Jupyter Server returns it. */
export interface KernelModel {
  id: string;
  name: string;
  last_activity: string;
  execution_state: string;
  connections: number;
}

export interface KernelManagerOptions {
  specs: KernelSpecCatalog;
  store: KernelStore;
  kubeConfig: KubeConfig;
  hub: WatchHub;
  responseListener: ResponseListener;
  hostEnv: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  /** Whether the Kubernetes API answers (launches and shutdowns are refused at once while it does not). */
  apiHealth?: { readonly reachable: boolean; check(): Promise<boolean> };
  /** Where launches, restarts, interrupts, shutdowns, culls and relayed messages are counted. */
  metrics?: MetricsSink;
  /** --max-kernels / --max-kernels-per-user (default: none). */
  limits?: KernelLimitSettings;
  /** --transport-encryption (default: the host's GP_TRANSPORT_ENCRYPTION, else `auto`). */
  transportEncryption?: string;
  /** Warm pools (--kernel-pools): where a kernelspec's first launches claim a waiting pod; their pods count under --max-kernels. */
  pools?: { sourceFor(name: string): PooledPodSource | undefined; podCount(): number; yieldOne(): Promise<boolean>; fill(): void };
  /**
   * With a shared store (`--kernel-store kubernetes`): this replica's id, whether it leads (only the leader
   * removes dead kernels' records and other replicas' abandoned launches), and whether a replica still lives.
   */
  replica?: ReplicaView;
}

export interface ReplicaView {
  readonly id: string;
  readonly isLeader: boolean;
  alive(id: string): Promise<boolean>;
}

/** What re-attachment did: kernels attached, records removed (the API said the kernel is gone), records kept for a retry. */
export interface ReattachResult {
  attached: string[];
  removed: string[];
  pending: string[];
}

type Settled = 'attached' | 'removed' | 'pending' | 'kept';

const INTERRUPT_REPLY_TIMEOUT_MS = 10_000;
/** Re-attach retries: 1 s, doubling, at most 30 s apart (and at once when the API is back). */
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

/** The Kubernetes API did not answer: nothing was done, and the caller may retry. */
export class KubernetesUnreachableError extends GpError {
  constructor(what: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('GP_KUBERNETES_UNREACHABLE', `${what}: the Kubernetes API server does not answer. Nothing was changed; retry once it is back (GET /readyz answers 200 then).`, {
      httpStatus: 503,
      details,
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

/** DELETE /api/kernels/{id} could not delete the kernel's resources: the kernel and its record are kept. */
export class KernelShutdownError extends GpError {
  constructor(kernelId: string, cause: unknown) {
    const status = cause instanceof GpError ? cause.httpStatus : 502;
    super(
      'GP_KERNEL_SHUTDOWN_FAILED',
      `Kernel ${kernelId} could not be shut down: deleting its resources failed (${cause instanceof Error ? cause.message : String(cause)}). The kernel and its record are kept: retry DELETE /api/kernels/${kernelId}.`,
      { httpStatus: status >= 500 ? status : 502, cause, details: { kernelId, kept: true } },
    );
  }
}

/** The kernel object a launch creates: its pod, or its SparkApplication. */
function plannedHandle(provisioner: Provisioner, p: PreparedLaunch): KernelResourcesHandle {
  const automatic = p.namespaceMode === 'auto';
  const t = SPARK_APPLICATION;
  const kernelObject =
    provisioner.provisionerName === 'spark-operator-provisioner'
      ? { apiVersion: `${t.group}/${t.version}`, kind: t.kind, name: p.podName, namespace: p.namespace, plural: t.plural }
      : { apiVersion: 'v1', kind: 'Pod', name: p.podName, namespace: p.namespace };
  return {
    kernelId: p.kernelId,
    namespace: p.namespace,
    namespaceMode: p.namespaceMode,
    podName: p.podName,
    deleteNamespace: automatic,
    objects: [...(automatic ? [{ apiVersion: 'v1', kind: 'Namespace', name: p.namespace }] : []), kernelObject],
  };
}

export class ManagedKernel {
  readonly bridges = new Set<ChannelBridge>();
  readonly monitor: KernelMonitor;
  /** One set of ZeroMQ sockets shared by all the kernel's WebSockets (opened while any is connected). */
  readonly channels: KernelChannels;
  /** Serializes restart / interrupt / shutdown on one kernel. */
  private queue: Promise<unknown> = Promise.resolve();
  restarting = false;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly env: Record<string, string>,
    readonly provisioner: Provisioner,
    /** The kernelspec's `interrupt_mode`: SIGINT through the launcher, or `interrupt_request` on control. */
    readonly interruptMode: InterruptMode,
    readonly log: Logger,
    metrics?: MetricsSink,
  ) {
    this.monitor = new KernelMonitor(log);
    this.channels = new KernelChannels({ kernelId: id, log, onActivity: () => this.monitor.touch(), ...(metrics ? { onRelay: (c, d) => metrics.relayed(c, d) } : {}) });
  }

  get connectionInfo(): KernelConnectionInfo {
    const info = this.provisioner.connectionInfo;
    if (!info) throw new GpError('GP_KERNEL_NOT_CONNECTED', `Kernel ${this.id} has no connection information (not launched).`, { httpStatus: 409 });
    return info;
  }

  model(): KernelModel {
    return {
      id: this.id,
      name: this.name,
      last_activity: this.monitor.lastActivity.toISOString(),
      execution_state: this.restarting ? 'restarting' : this.monitor.executionState,
      connections: this.bridges.size,
    };
  }

  /** Whether the pod still runs, from the watch cache (no API call). */
  get alive(): boolean {
    return this.restarting || this.provisioner.poll() === null;
  }

  serialized<T>(action: () => Promise<T>): Promise<T> {
    const next = this.queue.catch(() => undefined).then(action);
    this.queue = next;
    return next;
  }

  attach(ws: WebSocket): ChannelBridge {
    const bridge = new ChannelBridge(ws, this.channels, this.log, {
      onActivity: () => this.monitor.touch(),
      onClose: () => this.bridges.delete(bridge),
    });
    this.bridges.add(bridge);
    // After a restart or interrupt in progress: connect to the ports the kernel has then.
    // connect() never rejects: sockets that cannot be opened close the WebSocket with a reason.
    void this.serialized(async () => undefined).then(() => {
      const info = this.provisioner.connectionInfo;
      if (info) void bridge.connect(info);
      else bridge.close(1011, 'kernel not running');
    });
    return bridge;
  }

  closeBridges(status?: string): void {
    for (const bridge of [...this.bridges]) {
      if (status) bridge.sendStatus(status);
      bridge.close(1000, status ?? 'kernel gone');
    }
  }
}

export class KernelManager {
  private readonly kernels = new Map<string, ManagedKernel>();
  /** Launches in progress, cancelled when the gateway closes (what they created is removed). */
  private readonly starting = new Map<string, { abort: AbortController; settled: Promise<unknown> }>();
  /** The env of each launch from the moment it passed the limits until it ends (what the limits count in flight). */
  private readonly reserved = new Map<string, Record<string, string>>();
  private closing = false;
  private readonly log: Logger;
  /** Records not (yet) re-attached or removed because the API did not answer; retried with backoff. */
  private readonly pending = new Map<string, { record: KernelRecord; failures: number; error?: string }>();
  private readonly settling = new Map<string, Promise<Settled>>();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = RETRY_MIN_MS;
  private retrying: Promise<ReattachResult> | undefined;

  constructor(private readonly o: KernelManagerOptions) {
    this.log = o.logger;
  }

  private provisionerFor(kernelId: string, name: string): { provisioner: Provisioner; interruptMode: InterruptMode } {
    const entry = this.o.specs.get(name);
    const interruptMode: InterruptMode = entry.spec.interrupt_mode === 'message' ? 'message' : 'signal';
    const pool = this.o.pools?.sourceFor(name);
    const provisioner = createProvisioner({
      ...(pool ? { pool } : {}),
      kernelId,
      kernelSpec: entry.spec,
      kernelName: name,
      resourceDir: entry.resourceDir,
      kubeConfig: this.o.kubeConfig,
      hub: this.o.hub,
      responseListener: this.o.responseListener,
      hostEnv: this.o.hostEnv,
      logger: this.log.child({ kernel_id: kernelId }),
      ...(this.o.transportEncryption !== undefined ? { transportEncryption: this.o.transportEncryption } : {}),
      ...(curveUnsupported() ? { curveUnsupported: curveUnsupported() } : {}),
    });
    return { provisioner, interruptMode };
  }

  private async record(kernel: ManagedKernel, started = new Date().toISOString(), extra: Partial<KernelRecord> = {}): Promise<void> {
    const record: KernelRecord = {
      kernelId: kernel.id,
      name: kernel.name,
      env: kernel.env,
      provisionerInfo: kernel.provisioner.getProvisionerInfo(),
      started,
      ...(this.o.replica ? { replica: this.o.replica.id } : {}),
      ...extra,
    };
    await this.o.store.put(record);
  }

  /** Launches a kernel of kernelspec `name` with the (already allowed) request env. Nothing is left behind on failure. */
  async start(name: string, env: Record<string, string>): Promise<KernelModel> {
    const began = performance.now();
    const seconds = (): number => (performance.now() - began) / 1000;
    try {
      const model = await this.startKernel(name, env);
      this.o.metrics?.launch(name, 'success', '', seconds());
      return model;
    } catch (e) {
      this.o.metrics?.launch(name, 'failure', e instanceof GpError ? e.code : 'GP_INTERNAL', seconds());
      throw e;
    }
  }

  /** Counts a restart, interrupt or shutdown of a known kernel by its kernelspec and result. */
  private async counted<T>(what: 'restart' | 'interrupt' | 'shutdown', kernelId: string, action: () => Promise<T>): Promise<T> {
    const name = this.kernels.get(kernelId)?.name;
    try {
      const result = await action();
      if (name !== undefined) this.o.metrics?.[what](name, 'success');
      return result;
    } catch (e) {
      if (name !== undefined) this.o.metrics?.[what](name, 'failure');
      throw e;
    }
  }

  /** Each kernel's kernelspec and namespace (an automatic, per-kernel namespace as `(automatic)`), for metrics. */
  running(): Array<{ kernelspec: string; namespace: string }> {
    return [...this.kernels.values()].map((k) => {
      const info = k.provisioner.getProvisionerInfo();
      return { kernelspec: k.name, namespace: namespaceModeOf(info.gp?.namespace_mode) === 'auto' ? AUTOMATIC_NAMESPACE : (info.kernel_ns ?? '') };
    });
  }

  private async startKernel(name: string, env: Record<string, string>): Promise<KernelModel> {
    if (this.closing) throw new GpError('GP_GATEWAY_SHUTTING_DOWN', 'The gateway is shutting down; start the kernel again once it is back.', { httpStatus: 503 });
    const kernelId = randomUUID();
    // Checked and reserved synchronously, before the first await: concurrent requests see each other.
    if (this.o.limits) checkKernelLimits(this.o.limits, this.countedEnvs(), env);
    this.reserved.set(kernelId, env);
    // Pool pods count under --max-kernels: they give way to kernels (the pool refills when there is room again).
    if (this.o.pools && this.o.limits && this.o.limits.maxKernels > 0 && this.countedKernels + this.o.pools.podCount() > this.o.limits.maxKernels) void this.o.pools.yieldOne();
    const abort = new AbortController();
    try {
      await this.requireApi(`Kernel ${name} cannot be started`);
      const launched = this.launch(kernelId, name, env, abort.signal);
      this.starting.set(kernelId, { abort, settled: launched.catch(() => undefined) });
      return await launched;
    } catch (e) {
      if (abort.signal.aborted) {
        throw new GpError('GP_GATEWAY_SHUTTING_DOWN', `The gateway is shutting down: the launch of kernel ${kernelId} was cancelled and what it created removed. Start the kernel again once the gateway is back.`, {
          httpStatus: 503,
          cause: e,
          details: { kernelId },
        });
      }
      throw e;
    } finally {
      this.starting.delete(kernelId);
      this.reserved.delete(kernelId);
    }
  }

  /** How many kernels the limits count now (launches in flight, live kernels, kernels awaiting re-attachment). */
  get countedKernels(): number {
    let n = 0;
    for (const _ of this.countedEnvs()) n += 1;
    return n;
  }

  /** The envs of the kernels the limits count: launches in flight, live kernels, kernels awaiting re-attachment. */
  private *countedEnvs(): Iterable<Record<string, string>> {
    yield* this.reserved.values();
    for (const [id, kernel] of this.kernels) if (!this.reserved.has(id) && kernel.alive) yield kernel.env;
    for (const { record } of this.pending.values()) if (!record.launching && !this.kernels.has(record.kernelId)) yield record.env;
  }

  private async launch(kernelId: string, name: string, env: Record<string, string>, signal: AbortSignal): Promise<KernelModel> {
    const { provisioner, interruptMode } = this.provisionerFor(kernelId, name);
    const log = this.log.child({ kernel_id: kernelId, kernel_name: name });
    let intent: KernelRecord | undefined;
    try {
      const prepared = await provisioner.preLaunch({ env });
      signal.throwIfAborted();
      // The intent goes to the store before the first object exists: a gateway killed from here on
      // finds it at its next start and removes what the launch created.
      const planned: KernelRecord = {
        kernelId,
        name,
        env,
        provisionerInfo: { kernel_id: kernelId },
        started: new Date().toISOString(),
        launching: plannedHandle(provisioner, prepared),
        ...(this.o.replica ? { replica: this.o.replica.id } : {}),
      };
      await this.o.store.put(planned);
      intent = planned;
      log.info('Launching a kernel.');
      await provisioner.launch({ signal });
    } catch (e) {
      await provisioner.cleanup().catch(() => undefined);
      log.warn('The kernel launch failed.', { error: e, ...(e instanceof GpError ? { code: e.code } : {}) });
      if (intent) await this.removeLaunch(intent, log);
      throw e;
    }
    const kernel = new ManagedKernel(kernelId, name, env, provisioner, interruptMode, log, this.o.metrics);
    try {
      kernel.monitor.connect(kernel.connectionInfo);
    } catch (e) {
      // Out of sockets or file descriptors: the kernel runs but cannot be served. Stop it and remove what the
      // launch created (its intent stays recorded until that succeeds) rather than leave a pod nobody tracks.
      log.warn('The kernel started but its ZeroMQ channels cannot be opened; stopping it.', { error: e });
      await provisioner.kill().catch(() => undefined);
      await provisioner.cleanup().catch(() => undefined);
      if (intent) await this.removeLaunch(intent, log);
      throw new GpError('GP_GATEWAY_CHANNELS_UNAVAILABLE', `Kernel ${kernelId} started, but the gateway cannot open its ZeroMQ channels (${(e as Error).message}); the kernel was stopped. Try again later, or raise the gateway's file descriptor limit.`, {
        httpStatus: 503,
        cause: e,
        details: { kernelId },
      });
    }
    this.kernels.set(kernelId, kernel);
    await this.record(kernel);
    log.info('Kernel started.', { namespace: provisioner.getProvisionerInfo().kernel_ns, pod: provisioner.getProvisionerInfo().assigned_host });
    return kernel.model();
  }

  /**
   * Throws `KubernetesUnreachableError` unless the API answers a fresh check (one GET of its /readyz, shared by
   * concurrent callers): a launch or shutdown then starts nothing it could not finish.
   */
  private async requireApi(what: string): Promise<void> {
    const health = this.o.apiHealth;
    if (!health || (await health.check())) return;
    throw new KubernetesUnreachableError(what);
  }

  /**
   * Deletes what an unfinished launch (failed, or interrupted by a gateway crash) may have created, or what a
   * dead kernel left, then its record. When that fails (the API is down, RBAC...) the record (re)written with
   * those objects stays and the removal is retried: nothing is left unrecorded.
   */
  private async removeLaunch(intent: KernelRecord, log: Logger): Promise<boolean> {
    if (!intent.launching) return true;
    try {
      await deleteKernelResources(intent.launching, { kubeConfig: this.o.kubeConfig, logger: log });
    } catch (e) {
      await this.o.store.put(intent).catch((put: unknown) => log.warn('Re-recording the objects to delete failed.', { error: put }));
      if (!this.pending.has(intent.kernelId)) {
        log.warn('Deleting the kernel\'s objects failed; its record is kept and the deletion retried.', { error: e });
        this.pending.set(intent.kernelId, { record: intent, failures: 1, error: describeError(e) });
        this.scheduleRetry();
      }
      return false;
    }
    await this.o.store.delete(intent.kernelId);
    return true;
  }

  /** The kernel, if it is still alive; a dead one (pod gone behind our back) is removed and reported 404. */
  async get(kernelId: string): Promise<ManagedKernel> {
    let kernel = this.kernels.get(kernelId);
    if (!kernel && this.o.store.shared && !this.pending.has(kernelId)) kernel = await this.adopt(kernelId);
    if (!kernel) {
      this.throwIfPending(kernelId);
      throw new NotFoundError('GP_NO_SUCH_KERNEL', `No such kernel: ${kernelId}.`, { kernelId });
    }
    if (!kernel.alive) {
      await this.forget(kernel);
      throw new NotFoundError('GP_NO_SUCH_KERNEL', `Kernel ${kernelId} is no longer running (its pod ended or was deleted); it was removed.`, {
        kernelId,
        exitCode: kernel.provisioner.poll(),
      });
    }
    return kernel;
  }

  /** A recorded kernel not re-attached yet (the API did not answer): 503, never 404 — it is not lost. */
  private throwIfPending(kernelId: string): void {
    const p = this.pending.get(kernelId);
    if (!p || p.record.launching) return;
    throw new GpError(
      'GP_KERNEL_NOT_REATTACHED',
      `Kernel ${kernelId} is recorded but not re-attached yet: its pod could not be read from the Kubernetes API (${p.error ?? 'unknown error'}). The gateway keeps retrying; try again shortly.`,
      { httpStatus: 503, details: { kernelId } },
    );
  }

  /**
   * A kernel another replica started (shared store): its record is read (cache, else one GET) and the kernel
   * attached here (its own ZeroMQ channels). Undefined when there is no such record. A kernel being restarted
   * or launched elsewhere is 503 (retry), not 404.
   */
  private async adopt(kernelId: string, known?: KernelRecord): Promise<ManagedKernel | undefined> {
    if (this.closing) return undefined;
    const record = known ?? (await this.o.store.get(kernelId));
    if (!record) return undefined;
    if (record.launching || record.restarting) {
      if (known) return undefined;
      throw new GpError('GP_KERNEL_BUSY_ELSEWHERE', `Kernel ${kernelId} is being ${record.launching ? 'launched' : 'restarted'} by gateway replica ${record.replica ?? '(unknown)'}; retry shortly.`, {
        httpStatus: 503,
        details: { kernelId },
      });
    }
    if (!this.kernels.has(kernelId) && !this.pending.has(kernelId)) this.pending.set(kernelId, { record, failures: 0 });
    await this.settle(kernelId);
    return this.kernels.get(kernelId);
  }

  /** Lets go of a kernel without touching it: its clients are told `status` and closed (they reconnect). */
  private detach(kernel: ManagedKernel, status: string): void {
    if (this.kernels.get(kernel.id) === kernel) this.kernels.delete(kernel.id);
    kernel.closeBridges(status);
    kernel.monitor.close();
    kernel.provisioner.detach();
  }

  /**
   * Shared store: what another replica wrote about a kernel this replica serves. A restart begun elsewhere
   * detaches it here; a record with new connection info (the restart done) is attached afresh.
   */
  async recordChanged(kernelId: string, record: KernelRecord | undefined): Promise<void> {
    const kernel = this.kernels.get(kernelId);
    if (!kernel || kernel.restarting || !record) return;
    const mine = record.replica !== undefined && record.replica === this.o.replica?.id;
    if (record.restarting) {
      if (!mine) {
        kernel.log.info('Another replica is restarting the kernel; detaching until it is back.');
        this.detach(kernel, 'restarting');
      }
      return;
    }
    const info = record.provisionerInfo.connection_info;
    if (info && JSON.stringify(info) !== JSON.stringify(kernel.provisioner.connectionInfo)) {
      kernel.log.info('The kernel was restarted by another replica; attaching to its new pod.');
      this.detach(kernel, 'restarting');
      await this.adopt(kernelId, record).catch((e: unknown) => kernel.log.warn('Attaching to the restarted kernel failed.', { error: e }));
    }
  }

  /** Shared store: attaches every recorded kernel this replica does not serve yet (so it can list, cull, sweep). */
  async adoptAll(): Promise<void> {
    if (!this.o.store.shared || this.closing) return;
    for (const record of await this.o.store.list()) {
      if (this.kernels.has(record.kernelId) || this.pending.has(record.kernelId) || this.starting.has(record.kernelId)) continue;
      if (record.launching && !this.o.replica?.isLeader) continue;
      if (record.launching) {
        this.pending.set(record.kernelId, { record, failures: 0 });
        await this.settle(record.kernelId);
      } else {
        await this.adopt(record.kernelId, record).catch((e: unknown) => this.log.debug('Adopting a kernel failed.', { kernel_id: record.kernelId, error: e }));
      }
    }
  }

  /** The live kernels' models (dead ones are removed on the way), then recorded kernels awaiting re-attachment (`unknown`). */
  async list(): Promise<KernelModel[]> {
    await this.adoptAll().catch((e: unknown) => this.log.debug('Adopting the recorded kernels failed.', { error: e }));
    const models: KernelModel[] = [];
    for (const kernel of [...this.kernels.values()]) {
      if (!kernel.alive) await this.forget(kernel);
      else models.push(kernel.model());
    }
    for (const { record } of this.pending.values()) {
      if (!record.launching && !this.kernels.has(record.kernelId)) {
        models.push({ id: record.kernelId, name: record.name, last_activity: record.started, execution_state: 'unknown', connections: 0 });
      }
    }
    return models;
  }

  get size(): number {
    return this.kernels.size;
  }

  /** Records kept because the API did not answer (kernels to re-attach, unfinished launches to remove). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** A dead kernel: tell its clients, release everything, delete its leftovers and its record. */
  private async forget(kernel: ManagedKernel): Promise<void> {
    if (this.kernels.get(kernel.id) !== kernel) return;
    this.kernels.delete(kernel.id);
    if (this.o.store.shared) {
      // Another replica may have shut it down (record gone) or be restarting it (marked), and only the leader
      // removes a dead kernel's record and leftovers: otherwise this replica only lets go of it.
      const fresh = await this.o.store.get(kernel.id, { fresh: true }).catch(() => 'unknown' as const);
      if (fresh === undefined || fresh === 'unknown' || fresh.restarting || fresh.launching || !this.o.replica?.isLeader) {
        const restarting = fresh !== 'unknown' && fresh?.restarting !== undefined;
        kernel.log.info(restarting ? 'The kernel is being restarted by another replica; detaching.' : 'The kernel is gone here; detaching (its record is left to the leader or was removed by another replica).');
        this.detach(kernel, restarting ? 'restarting' : 'dead');
        return;
      }
    }
    const record = await this.o.store.get(kernel.id);
    const leftovers = kernel.provisioner.resources;
    await this.o.store.delete(kernel.id).catch((e: unknown) => kernel.log.warn("Deleting the kernel's record failed.", { error: e }));
    kernel.log.warn('The kernel is gone; removing it.', { exitCode: kernel.provisioner.poll() });
    kernel.closeBridges('dead');
    kernel.monitor.close();
    await kernel.provisioner.cleanup().catch((e: unknown) => kernel.log.warn('Cleaning up the kernel failed.', { error: e }));
    // cleanup() only logs a failed deletion: delete again (what is gone already is fine), and when that fails
    // too, record the leftovers and retry, so an ended pod or its namespace is not left unrecorded.
    if (record && leftovers) await this.removeLaunch({ ...record, launching: leftovers }, kernel.log);
  }

  interrupt(kernelId: string): Promise<void> {
    return this.counted('interrupt', kernelId, () => this.interruptKernel(kernelId));
  }

  private async interruptKernel(kernelId: string): Promise<void> {
    const kernel = await this.get(kernelId);
    await kernel.serialized(async () => {
      if (kernel.interruptMode === 'message') {
        await controlRequest(kernel.connectionInfo, 'interrupt_request', {}, INTERRUPT_REPLY_TIMEOUT_MS);
        kernel.log.info('Kernel interrupted (interrupt_request).');
        return;
      }
      const delivered = await kernel.provisioner.interrupt();
      if (!delivered) {
        throw new GpError('GP_INTERRUPT_FAILED', `The interrupt could not be delivered to kernel ${kernelId} (its launcher's comm port did not answer).`, {
          httpStatus: 500,
          details: { kernelId },
        });
      }
      kernel.log.info('Kernel interrupted.');
    });
  }

  /** Restart: the same id, a new pod; connected WebSockets follow the new ports. */
  restart(kernelId: string): Promise<KernelModel> {
    return this.counted('restart', kernelId, () => this.restartKernel(kernelId));
  }

  private async restartKernel(kernelId: string): Promise<KernelModel> {
    const kernel = await this.get(kernelId);
    return kernel.serialized(async () => {
      // A restart half done when the API stops answering would lose the kernel: start none then.
      await this.requireApi(`Kernel ${kernelId} cannot be restarted (it keeps running, unchanged)`);
      // Other replicas that see the pod go then detach instead of taking the kernel for dead.
      if (this.o.store.shared) await this.record(kernel, undefined, { restarting: new Date().toISOString() });
      kernel.restarting = true;
      for (const bridge of kernel.bridges) bridge.sendStatus('restarting');
      try {
        kernel.monitor.close();
        await kernel.provisioner.shutdownRequested({ restart: true });
        await kernel.provisioner.wait();
        await kernel.provisioner.cleanup({ restart: true });
        await kernel.provisioner.preLaunch({ env: kernel.env });
        await kernel.provisioner.launch();
      } catch (e) {
        kernel.restarting = false;
        kernel.log.error('The kernel restart failed; removing the kernel.', { error: e });
        await this.forget(kernel);
        throw e;
      }
      kernel.restarting = false;
      kernel.monitor.executionState = 'starting';
      kernel.monitor.connect(kernel.connectionInfo);
      await Promise.all([...kernel.bridges].map((bridge) => bridge.connect(kernel.connectionInfo)));
      await this.record(kernel);
      kernel.log.info('Kernel restarted.');
      return kernel.model();
    });
  }

  /**
   * Stops the kernel and deletes its resources, then its record. When the API does not answer, or the deletion
   * fails, the kernel and its record are kept (`KubernetesUnreachableError` / `KernelShutdownError`) and a
   * retry can finish the job.
   */
  shutdown(kernelId: string): Promise<void> {
    return this.counted('shutdown', kernelId, () => this.shutdownKernel(kernelId));
  }

  private async shutdownKernel(kernelId: string): Promise<void> {
    if (!this.kernels.has(kernelId) && this.pending.has(kernelId) && !this.pending.get(kernelId)?.record.launching) {
      // Recorded but not re-attached: try now; shut down what that finds.
      const settled = await this.settle(kernelId);
      if (settled === 'removed') return;
      if (settled === 'pending') throw new KubernetesUnreachableError(`Kernel ${kernelId} cannot be shut down (it is recorded, not re-attached yet; the record is kept)`, { kernelId, kept: true });
    }
    const kernel = this.kernels.get(kernelId) ?? (this.o.store.shared ? await this.adopt(kernelId) : undefined);
    if (!kernel) throw new NotFoundError('GP_NO_SUCH_KERNEL', `No such kernel: ${kernelId}.`, { kernelId });
    await kernel.serialized(async () => {
      if (this.kernels.get(kernelId) !== kernel) return;
      await this.requireApi(`Kernel ${kernelId} cannot be shut down (it and its record are kept)`);
      try {
        await kernel.provisioner.shutdownRequested();
      } catch (e) {
        kernel.log.warn('Shutting the kernel down failed; it and its record are kept for a retry.', { error: e });
        throw new KernelShutdownError(kernelId, e);
      }
      await kernel.provisioner.wait();
      this.kernels.delete(kernelId);
      kernel.closeBridges();
      kernel.monitor.close();
      await kernel.provisioner.cleanup().catch(() => undefined);
      await this.o.store.delete(kernelId).catch((e: unknown) => kernel.log.warn("Deleting the kernel's record failed (the garbage collector removes a record owned by the pod).", { error: e }));
      kernel.log.info('Kernel shut down.');
    });
  }

  /**
   * Takes every record of the store: a kernel still running is re-attached; one the API says is gone (404, a
   * terminal phase) is cleaned up and its record removed; an unfinished launch's objects are deleted. When the
   * API does not answer (refused, timeout, 5xx, 429...) the record is kept and retried with backoff (1 s
   * doubling to 30 s, and at once on `retryPending()`), never taken for dead. With `attempt: false` nothing
   * is tried now (the API is known to be down), only scheduled.
   */
  async reattach(options: { attempt?: boolean } = {}): Promise<ReattachResult> {
    for (const record of await this.o.store.list()) {
      if (this.o.store.shared && (record.launching || record.restarting) && !this.o.replica?.isLeader) continue;
      if (!this.kernels.has(record.kernelId) && !this.pending.has(record.kernelId)) this.pending.set(record.kernelId, { record, failures: 0 });
    }
    if (options.attempt === false) {
      const pending = [...this.pending.keys()];
      for (const entry of this.pending.values()) entry.error ??= 'the Kubernetes API server is unreachable';
      if (pending.length) this.log.warn('The Kubernetes API server is unreachable: the recorded kernels are kept and re-attached once it answers.', { kernel_ids: pending });
      this.scheduleRetry();
      return { attached: [], removed: [], pending };
    }
    return this.retryPending();
  }

  /** One pass over the pending records now (concurrent callers share it); reschedules what stays pending. */
  retryPending(): Promise<ReattachResult> {
    this.retrying ??= this.runPending().finally(() => {
      this.retrying = undefined;
    });
    return this.retrying;
  }

  private async runPending(): Promise<ReattachResult> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const result: ReattachResult = { attached: [], removed: [], pending: [] };
    for (const kernelId of [...this.pending.keys()]) {
      if (this.closing) break;
      const settled = await this.settle(kernelId);
      if (settled !== 'kept') result[settled].push(kernelId);
    }
    if (this.pending.size === 0) this.retryDelayMs = RETRY_MIN_MS;
    else this.scheduleRetry();
    return result;
  }

  private scheduleRetry(): void {
    if (this.closing || this.retryTimer || this.pending.size === 0) return;
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      // While the API is known to be down, wait for the next turn (or for retryPending() when it is back).
      if (this.o.apiHealth && !this.o.apiHealth.reachable) this.scheduleRetry();
      else void this.retryPending();
    }, delay);
    this.retryTimer.unref();
  }

  /**
   * Shared store: whether a recorded launch was abandoned (its replica's lease expired), so the leader may
   * remove what it created. This replica's own launch counts as abandoned once it is no longer in flight.
   */
  private async abandoned(record: KernelRecord): Promise<boolean> {
    const replica = this.o.replica;
    if (!replica) return !this.starting.has(record.kernelId);
    if (record.replica === replica.id || record.replica === undefined) return !this.starting.has(record.kernelId);
    if (!replica.isLeader) return false;
    return !(await replica.alive(record.replica));
  }

  /** Settles one pending record (one attempt at a time per record). */
  private settle(kernelId: string): Promise<Settled> {
    let running = this.settling.get(kernelId);
    if (!running) {
      running = this.settleRecord(kernelId).finally(() => this.settling.delete(kernelId));
      this.settling.set(kernelId, running);
    }
    return running;
  }

  private async settleRecord(kernelId: string): Promise<Settled> {
    const entry = this.pending.get(kernelId);
    if (!entry) return this.kernels.has(kernelId) ? 'attached' : 'removed';
    const { record } = entry;
    const log = this.log.child({ kernel_id: record.kernelId, kernel_name: record.name });
    const transient = (what: string, e: unknown): Settled => {
      entry.failures++;
      entry.error = describeError(e);
      const fields = { error: e, attempts: entry.failures };
      if (entry.failures === 1) log.warn(`${what} failed (the Kubernetes API did not say the kernel is gone); the record is kept and retried.`, fields);
      else log.debug(`${what} failed again; retrying.`, fields);
      return 'pending';
    };
    if (record.launching && this.o.store.shared && !(await this.abandoned(record))) {
      // Another replica's launch in progress (or this one's): it finishes or removes it itself.
      this.pending.delete(kernelId);
      return 'kept';
    }
    if (record.launching) {
      try {
        await deleteKernelResources(record.launching, { kubeConfig: this.o.kubeConfig, logger: log });
      } catch (e) {
        return transient("Deleting a record's objects (an unfinished launch's, or a dead kernel's leftovers)", e);
      }
      this.pending.delete(kernelId);
      try {
        await this.o.store.delete(kernelId);
      } catch (e) {
        return transient("Deleting an unfinished launch's record", e);
      }
      log.info('Deleted the objects of an unfinished launch or a dead kernel; its record was removed.', { namespace: record.launching.namespace, pod: record.launching.podName });
      return 'removed';
    }
    let provisioner: Provisioner;
    let interruptMode: InterruptMode;
    try {
      ({ provisioner, interruptMode } = this.provisionerFor(record.kernelId, record.name));
    } catch (e) {
      this.pending.delete(kernelId);
      log.warn("A recorded kernel's kernelspec is gone; its record is kept for the orphan sweep to report.", { error: e });
      return 'kept';
    }
    let alive: boolean;
    try {
      // Resolves false only when the API says the kernel is gone (404, a terminal phase, being deleted).
      alive = await provisioner.loadProvisionerInfo(record.provisionerInfo);
    } catch (e) {
      provisioner.detach();
      return transient('Re-attaching to a recorded kernel', e);
    }
    this.pending.delete(kernelId);
    if (!alive && this.o.store.shared) {
      // Only the leader removes it, and only if the record still says the same (not a restart begun meanwhile).
      const fresh = await this.o.store.get(kernelId, { fresh: true }).catch(() => undefined);
      if (!this.o.replica?.isLeader || !fresh || fresh.restarting || fresh.launching) {
        provisioner.detach();
        return 'kept';
      }
    }
    if (!alive) {
      await provisioner.cleanup().catch(() => undefined);
      await this.o.store.delete(record.kernelId).catch((e: unknown) => log.warn("Deleting the record failed.", { error: e }));
      log.info('A recorded kernel is gone; its record was removed.');
      return 'removed';
    }
    const kernel = new ManagedKernel(record.kernelId, record.name, record.env, provisioner, interruptMode, log, this.o.metrics);
    kernel.monitor.executionState = 'idle';
    kernel.monitor.connect(kernel.connectionInfo);
    this.kernels.set(record.kernelId, kernel);
    log.info('Re-attached to a running kernel.', entry.failures > 0 ? { attempts: entry.failures + 1 } : {});
    return 'attached';
  }

  /**
   * Kernel pods (label `kernel_id`) in `namespaces` that no kernel of this gateway owns. With `remove`
   * they are deleted (grace period 0).
   */
  async sweepOrphans(namespaces: readonly string[], remove: boolean): Promise<Array<{ namespace: string; pod: string; kernelId: string }>> {
    const core = this.o.kubeConfig.makeApiClient(CoreV1Api);
    const orphans: Array<{ namespace: string; pod: string; kernelId: string }> = [];
    for (const namespace of namespaces) {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: 'kernel_id' });
      // Ownership is read after the listing: a launch records its intent before creating its pod, so any pod
      // the listing holds already has its record (or its launch in `starting`) by now.
      const owned = new Set([...this.kernels.keys(), ...this.starting.keys(), ...this.pending.keys(), ...(await this.o.store.list()).map((r) => r.kernelId)]);
      for (const pod of pods.items) {
        const kernelId = pod.metadata?.labels?.kernel_id ?? '';
        if (owned.has(kernelId) || pod.metadata?.deletionTimestamp) continue;
        // A warm pool's unclaimed pod is no kernel's (its pool removes a previous gateway's at start).
        if (pod.metadata?.labels?.['gp-pool-state'] === 'waiting') continue;
        const name = pod.metadata?.name ?? '';
        orphans.push({ namespace, pod: name, kernelId });
        this.log.warn(remove ? 'Deleting an orphaned kernel pod.' : 'Found an orphaned kernel pod (no record owns it).', { namespace, pod: name, kernel_id: kernelId });
        if (remove) {
          await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 }).catch((e: unknown) => {
            if ((e as { code?: number }).code !== 404) throw e;
          });
        }
      }
    }
    return orphans;
  }

  /** One culling pass; returns the culled kernel ids. */
  async cull(policy: CullPolicy, now = new Date()): Promise<string[]> {
    const candidates = [...this.kernels.values()]
      .filter((k) => !k.restarting)
      .map((k) => ({ id: k.id, lastActivity: k.monitor.lastActivity, executionState: k.monitor.executionState, connections: k.bridges.size }));
    const ids = kernelsToCull(candidates, policy, now);
    for (const id of ids) {
      this.log.info('Culling an idle kernel.', { kernel_id: id, idle_timeout: policy.idleTimeoutSeconds });
      const name = this.kernels.get(id)?.name ?? '';
      await this.shutdown(id).then(
        () => this.o.metrics?.culled(name),
        (e: unknown) => this.log.warn('Culling a kernel failed.', { kernel_id: id, error: e }),
      );
    }
    return ids;
  }

  /** Gateway shutdown: stop every kernel, or leave them running (recorded) for the next gateway. */
  async closeAll(stopKernels: boolean): Promise<void> {
    this.closing = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.retrying?.catch(() => undefined);
    const launches = [...this.starting.values()];
    for (const launch of launches) launch.abort.abort();
    await Promise.all(launches.map((launch) => launch.settled));
    const all = [...this.kernels.values()];
    // With a shared store the other replicas serve these kernels: a replica going away never stops them.
    if (stopKernels && !this.o.store.shared) {
      await Promise.all(all.map((k) => this.shutdown(k.id).catch((e: unknown) => k.log.warn('Stopping the kernel failed.', { error: e }))));
      return;
    }
    for (const kernel of all) {
      this.kernels.delete(kernel.id);
      kernel.closeBridges();
      kernel.monitor.close();
      kernel.provisioner.detach();
    }
  }
}

function describeError(e: unknown): string {
  const x = e as { code?: unknown; message?: unknown } | undefined;
  return typeof x?.message === 'string' ? x.message : typeof x?.code === 'string' ? x.code : String(e);
}
