/**
 * The gateway's kernels: each a provisioner from `@gp/launcher` (chosen by the kernelspec's
 * `kernel_provisioner`), its iopub monitor, the WebSocket bridges connected to it, and its record in the
 * store. Launch, interrupt, restart, shutdown, re-attach after a gateway restart, the orphan sweep and
 * idle culling live here; HTTP lives in server.ts.
 */
import { randomUUID } from 'node:crypto';
import { GpError, type KernelConnectionInfo, type Logger, type ResponseListener } from '@gp/core';
import { createProvisioner, type KubernetesProvisioner, type SparkOperatorProvisioner, type WatchHub } from '@gp/launcher';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { WebSocket } from 'ws';
import { ChannelBridge, KernelMonitor, controlRequest } from './channels.js';
import { KernelChannels } from './kernel-channels.js';
import { kernelsToCull, type CullPolicy } from './culling.js';
import { NotFoundError, type KernelSpecCatalog } from './kernelspecs.js';
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
}

const INTERRUPT_REPLY_TIMEOUT_MS = 10_000;

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
  ) {
    this.monitor = new KernelMonitor(log);
    this.channels = new KernelChannels({ kernelId: id, log, onActivity: () => this.monitor.touch() });
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
  private closing = false;
  private readonly log: Logger;

  constructor(private readonly o: KernelManagerOptions) {
    this.log = o.logger;
  }

  private provisionerFor(kernelId: string, name: string): { provisioner: Provisioner; interruptMode: InterruptMode } {
    const entry = this.o.specs.get(name);
    const interruptMode: InterruptMode = entry.spec.interrupt_mode === 'message' ? 'message' : 'signal';
    const provisioner = createProvisioner({
      kernelId,
      kernelSpec: entry.spec,
      kernelName: name,
      resourceDir: entry.resourceDir,
      kubeConfig: this.o.kubeConfig,
      hub: this.o.hub,
      responseListener: this.o.responseListener,
      hostEnv: this.o.hostEnv,
      logger: this.log.child({ kernel_id: kernelId }),
    });
    return { provisioner, interruptMode };
  }

  private record(kernel: ManagedKernel, started = new Date().toISOString()): void {
    const record: KernelRecord = { kernelId: kernel.id, name: kernel.name, env: kernel.env, provisionerInfo: kernel.provisioner.getProvisionerInfo(), started };
    this.o.store.put(record);
  }

  /** Launches a kernel of kernelspec `name` with the (already allowed) request env. Nothing is left behind on failure. */
  async start(name: string, env: Record<string, string>): Promise<KernelModel> {
    if (this.closing) throw new GpError('GP_GATEWAY_SHUTTING_DOWN', 'The gateway is shutting down; start the kernel again once it is back.', { httpStatus: 503 });
    const kernelId = randomUUID();
    const abort = new AbortController();
    const launched = this.launch(kernelId, name, env, abort.signal);
    this.starting.set(kernelId, { abort, settled: launched.catch(() => undefined) });
    try {
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
    }
  }

  private async launch(kernelId: string, name: string, env: Record<string, string>, signal: AbortSignal): Promise<KernelModel> {
    const { provisioner, interruptMode } = this.provisionerFor(kernelId, name);
    const log = this.log.child({ kernel_id: kernelId, kernel_name: name });
    try {
      await provisioner.preLaunch({ env });
      signal.throwIfAborted();
      log.info('Launching a kernel.');
      await provisioner.launch({ signal });
    } catch (e) {
      await provisioner.cleanup().catch(() => undefined);
      log.warn('The kernel launch failed.', { error: e, ...(e instanceof GpError ? { code: e.code } : {}) });
      throw e;
    }
    const kernel = new ManagedKernel(kernelId, name, env, provisioner, interruptMode, log);
    kernel.monitor.connect(kernel.connectionInfo);
    this.kernels.set(kernelId, kernel);
    this.record(kernel);
    log.info('Kernel started.', { namespace: provisioner.getProvisionerInfo().kernel_ns, pod: provisioner.getProvisionerInfo().assigned_host });
    return kernel.model();
  }

  /** The kernel, if it is still alive; a dead one (pod gone behind our back) is removed and reported 404. */
  async get(kernelId: string): Promise<ManagedKernel> {
    const kernel = this.kernels.get(kernelId);
    if (!kernel) throw new NotFoundError('GP_NO_SUCH_KERNEL', `No such kernel: ${kernelId}.`, { kernelId });
    if (!kernel.alive) {
      await this.forget(kernel);
      throw new NotFoundError('GP_NO_SUCH_KERNEL', `Kernel ${kernelId} is no longer running (its pod ended or was deleted); it was removed.`, {
        kernelId,
        exitCode: kernel.provisioner.poll(),
      });
    }
    return kernel;
  }

  /** The live kernels' models (dead ones are removed on the way). */
  async list(): Promise<KernelModel[]> {
    const models: KernelModel[] = [];
    for (const kernel of [...this.kernels.values()]) {
      if (!kernel.alive) await this.forget(kernel);
      else models.push(kernel.model());
    }
    return models;
  }

  get size(): number {
    return this.kernels.size;
  }

  /** A dead kernel: tell its clients, release everything, delete its leftovers and its record. */
  private async forget(kernel: ManagedKernel): Promise<void> {
    if (this.kernels.get(kernel.id) !== kernel) return;
    this.kernels.delete(kernel.id);
    this.o.store.delete(kernel.id);
    kernel.log.warn('The kernel is gone; removing it.', { exitCode: kernel.provisioner.poll() });
    kernel.closeBridges('dead');
    kernel.monitor.close();
    await kernel.provisioner.cleanup().catch((e: unknown) => kernel.log.warn('Cleaning up the kernel failed.', { error: e }));
  }

  async interrupt(kernelId: string): Promise<void> {
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
  async restart(kernelId: string): Promise<KernelModel> {
    const kernel = await this.get(kernelId);
    return kernel.serialized(async () => {
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
      this.record(kernel);
      kernel.log.info('Kernel restarted.');
      return kernel.model();
    });
  }

  async shutdown(kernelId: string): Promise<void> {
    const kernel = this.kernels.get(kernelId);
    if (!kernel) throw new NotFoundError('GP_NO_SUCH_KERNEL', `No such kernel: ${kernelId}.`, { kernelId });
    await kernel.serialized(async () => {
      if (this.kernels.get(kernelId) !== kernel) return;
      this.kernels.delete(kernelId);
      kernel.closeBridges();
      kernel.monitor.close();
      try {
        await kernel.provisioner.shutdownRequested();
        await kernel.provisioner.wait();
      } finally {
        await kernel.provisioner.cleanup().catch(() => undefined);
        this.o.store.delete(kernelId);
      }
      kernel.log.info('Kernel shut down.');
    });
  }

  /** Re-attaches to every recorded kernel still running; the rest are cleaned up and their records removed. */
  async reattach(): Promise<{ attached: string[]; removed: string[] }> {
    const attached: string[] = [];
    const removed: string[] = [];
    for (const record of this.o.store.list()) {
      const log = this.log.child({ kernel_id: record.kernelId, kernel_name: record.name });
      let provisioner: Provisioner;
      let interruptMode: InterruptMode;
      try {
        ({ provisioner, interruptMode } = this.provisionerFor(record.kernelId, record.name));
      } catch (e) {
        log.warn('A recorded kernel\'s kernelspec is gone; its record is kept for the orphan sweep to report.', { error: e });
        continue;
      }
      let alive = false;
      try {
        alive = await provisioner.loadProvisionerInfo(record.provisionerInfo);
      } catch (e) {
        log.warn('Re-attaching to a recorded kernel failed.', { error: e });
      }
      if (!alive) {
        await provisioner.cleanup().catch(() => undefined);
        this.o.store.delete(record.kernelId);
        removed.push(record.kernelId);
        log.info('A recorded kernel is gone; its record was removed.');
        continue;
      }
      const kernel = new ManagedKernel(record.kernelId, record.name, record.env, provisioner, interruptMode, log);
      kernel.monitor.executionState = 'idle';
      kernel.monitor.connect(kernel.connectionInfo);
      this.kernels.set(record.kernelId, kernel);
      attached.push(record.kernelId);
      log.info('Re-attached to a running kernel.');
    }
    return { attached, removed };
  }

  /**
   * Kernel pods (label `kernel_id`) in `namespaces` that no kernel of this gateway owns. With `remove`
   * they are deleted (grace period 0).
   */
  async sweepOrphans(namespaces: readonly string[], remove: boolean): Promise<Array<{ namespace: string; pod: string; kernelId: string }>> {
    const core = this.o.kubeConfig.makeApiClient(CoreV1Api);
    const owned = new Set([...this.kernels.keys(), ...this.starting.keys(), ...this.o.store.list().map((r) => r.kernelId)]);
    const orphans: Array<{ namespace: string; pod: string; kernelId: string }> = [];
    for (const namespace of namespaces) {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: 'kernel_id' });
      for (const pod of pods.items) {
        const kernelId = pod.metadata?.labels?.kernel_id ?? '';
        if (owned.has(kernelId) || pod.metadata?.deletionTimestamp) continue;
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
      await this.shutdown(id).catch((e: unknown) => this.log.warn('Culling a kernel failed.', { kernel_id: id, error: e }));
    }
    return ids;
  }

  /** Gateway shutdown: stop every kernel, or leave them running (recorded) for the next gateway. */
  async closeAll(stopKernels: boolean): Promise<void> {
    this.closing = true;
    const launches = [...this.starting.values()];
    for (const launch of launches) launch.abort.abort();
    await Promise.all(launches.map((launch) => launch.settled));
    const all = [...this.kernels.values()];
    if (stopKernels) {
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
