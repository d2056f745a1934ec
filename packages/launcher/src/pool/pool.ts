/**
 * A warm pool of kernel pods for one kernelspec and one request profile (README.md): keeps `size` pods started
 * and waiting for a claim, hands each out once, replaces what is claimed, failed or too old.
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, GpError, silentLogger, type Logger, type ResponseListener } from '@gp/core';
import type { Env } from '../env.js';
import { call, createKubeClient, createObject, deleteObject, type KubeClient, resourcePath } from '../kube.js';
import { planKernelResources, type KernelResourcesHandle } from '../launch.js';
import type { Manifest } from '../manifests.js';
import { isLabelValue } from '@gp/core';
import type { KernelSpecLike } from '../provisioner/kernelspec.js';
import { KubernetesProvisioner } from '../provisioner/provisioner.js';
import { probeClaimPort, sendClaim } from './claim.js';
import { matchProfile, profileKey } from './match.js';
import type { PoolClaimRequest, PooledPodSource } from './types.js';

export const POOL_LABEL = 'gp-pool';
export const POOL_STATE_LABEL = 'gp-pool-state';
const PLACEHOLDER_ADDRESS = 'pool-claim.invalid:1';
const PLACEHOLDER_KEY = 'cG9vbA==';

export interface KernelPoolOptions {
  /** The pool's name (a label value), e.g. the kernelspec's name. */
  name: string;
  kernelSpec: KernelSpecLike;
  kernelName?: string;
  /** Pods kept waiting. */
  size: number;
  /** A waiting pod older than this is replaced (0: never). */
  maxAgeSeconds?: number;
  /** The request environment the pods are made with (`KERNEL_USERNAME`...): only equal requests are served. */
  profile?: Record<string, string>;
  kubeConfig: KubeConfig;
  /** The host's environment (`GP_*` settings), as the provisioners get it. */
  hostEnv?: Env;
  logger?: Logger;
  /** Ports a pod's claim port is picked from (default 20000..29999). */
  claimPorts?: [number, number];
  /** A pod not waiting for a claim within this is replaced (default 120 s). */
  readyTimeoutMs?: number;
  /** Whether one more pod may be created now (gp-gateway: room under --max-kernels). Default: always. */
  canCreate?: () => boolean;
}

type PodState = 'starting' | 'waiting' | 'claiming';

interface PooledPod {
  poolId: string;
  name: string;
  namespace: string;
  secret: string;
  token: string;
  port: number;
  state: PodState;
  createdAt: number;
  podIP?: string;
}

export interface PoolStats {
  name: string;
  size: number;
  starting: number;
  waiting: number;
  /** Totals since the pool started. */
  claimed: number;
  misses: number;
  failures: number;
}

/** A bad pool configuration: names the pool and what is valid. */
export class PoolConfigError extends GpError {
  constructor(pool: string, message: string) {
    super('GP_INVALID_POOL', `Pool ${JSON.stringify(pool)}: ${message}`, { httpStatus: 500, details: { pool } });
  }
}

/** A response listener that registers nothing: a pooled pod gets placeholders, the claim brings the real values. */
const placeholderListener = {
  register: (kernelId: string) =>
    Promise.resolve({
      kernelId,
      publicKey: PLACEHOLDER_KEY,
      responseAddress: PLACEHOLDER_ADDRESS,
      responseVersions: '2,1',
      connectionInfo: new Promise(() => undefined),
      cancel: () => undefined,
      whenVersionRefused: () => new Promise(() => undefined),
    }),
} as unknown as ResponseListener;

export class KernelPool implements PooledPodSource {
  readonly name: string;
  private readonly log: Logger;
  private readonly client: KubeClient;
  private readonly pods = new Map<string, PooledPod>();
  private key: string | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;
  private consecutiveFailures = 0;
  private pauseUntil = 0;
  private totals = { claimed: 0, misses: 0, failures: 0 };
  private readonly listeners = new Set<() => void>();

  constructor(private readonly options: KernelPoolOptions) {
    this.name = options.name;
    if (!isLabelValue(options.name) || options.name === '') throw new PoolConfigError(options.name, 'the name must be a label value (letters, digits, "-", "_", ".", at most 63).');
    if (!Number.isInteger(options.size) || options.size < 0) throw new ConfigError('size', { kind: 'default' }, options.size, 'a whole number of pods ≥ 0');
    this.log = (options.logger ?? silentLogger).child({ pool: options.name });
    this.client = createKubeClient(options.kubeConfig);
  }

  /** Called whenever the pool's counts change (metrics). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  stats(): PoolStats {
    let starting = 0;
    let waiting = 0;
    for (const p of this.pods.values()) {
      if (p.state === 'starting') starting += 1;
      else if (p.state === 'waiting') waiting += 1;
    }
    return { name: this.name, size: this.options.size, starting, waiting, ...this.totals };
  }

  /** Pods the pool holds (starting or waiting): they count against kernel limits. */
  get podCount(): number {
    let n = 0;
    for (const p of this.pods.values()) if (p.state !== 'claiming') n += 1;
    return n;
  }

  /** Resolves the profile, removes pods a previous host left, and starts filling. */
  async start(tickMs = 1000): Promise<void> {
    const prepared = await this.prepare(`pool-${randomUUID()}`);
    this.key = profileKey(prepared.resolved);
    if (prepared.resolved.namespaceMode === 'auto') throw new PoolConfigError(this.name, 'automatic namespace mode makes a namespace per kernel; pools need shared or bring-your-own mode.');
    await this.sweep(prepared.resolved.namespace);
    this.fill();
    this.timer = setInterval(() => void this.tick(), tickMs);
    this.timer.unref?.();
  }

  /** The in-process launch a kernel of the profile would make, under `poolId`. */
  private async prepare(poolId: string) {
    const prov = new KubernetesProvisioner({
      kernelId: poolId,
      kernelSpec: this.options.kernelSpec,
      ...(this.options.kernelName ? { kernelName: this.options.kernelName } : {}),
      kubeConfig: this.options.kubeConfig,
      responseListener: placeholderListener,
      ...(this.options.hostEnv ? { hostEnv: this.options.hostEnv } : {}),
      logger: this.log,
    });
    try {
      await prov.preLaunch({ env: this.options.profile ?? {} });
      const launch = prov.preparedInProcessLaunch;
      if (!launch) throw new PoolConfigError(this.name, "the kernelspec does not run gp's launch_kubernetes.mjs; only those kernelspecs can be pooled.");
      return launch;
    } finally {
      await prov.cleanup({ restart: true });
    }
  }

  /** Deletes pool pods and claim Secrets of this pool's name that this process does not hold (a previous host's). */
  private async sweep(namespace: string): Promise<void> {
    for (const kind of ['Pod', 'Secret'] as const) {
      const ref = { apiVersion: 'v1', kind, namespace };
      const list = await call<{ items: Manifest[] }>(this.client, 'list', ref, { method: 'GET', path: resourcePath(ref), query: { labelSelector: `${POOL_LABEL}=${this.name},${POOL_STATE_LABEL}=waiting` } });
      for (const item of list.items) {
        if ([...this.pods.values()].some((p) => p.name === item.metadata.name || p.secret === item.metadata.name)) continue;
        await deleteObject(this.client, { ...ref, name: item.metadata.name }, { gracePeriodSeconds: 0 }).catch(() => undefined);
      }
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const maxAge = (this.options.maxAgeSeconds ?? 0) * 1000;
    if (maxAge > 0) {
      for (const p of this.pods.values()) {
        if (p.state === 'waiting' && Date.now() - p.createdAt > maxAge) {
          this.log.info('Replacing a pooled pod past its maximum age', { pod: p.name });
          await this.discard(p);
        }
      }
    }
    this.fill();
  }

  /** Creates pods until `size` are starting or waiting (and `canCreate` allows). */
  fill(): void {
    if (this.stopped || this.key === undefined || Date.now() < this.pauseUntil) return;
    while (this.podCount < this.options.size && (this.options.canCreate?.() ?? true)) {
      const pod = this.reserve();
      void this.create(pod);
    }
  }

  private reserve(): PooledPod {
    const poolId = `pool-${randomUUID()}`;
    const [low, high] = this.options.claimPorts ?? [20000, 29999];
    const pod: PooledPod = { poolId, name: poolId, namespace: '', secret: '', token: randomBytes(32).toString('hex'), port: randomInt(low, high + 1), state: 'starting', createdAt: Date.now() };
    this.pods.set(poolId, pod);
    this.changed();
    return pod;
  }

  private async create(pod: PooledPod): Promise<void> {
    try {
      const launch = await this.prepare(pod.poolId);
      const plan = planKernelResources(launch.request, { templateDir: launch.templateDir });
      if (plan.manifests.length !== 1) throw new PoolConfigError(this.name, `the kernelspec's template renders ${plan.manifests.length} objects; pools take templates that render only the pod.`);
      pod.name = plan.resolved.podName;
      pod.namespace = plan.resolved.namespace;
      pod.secret = `${pod.name}-claim`;
      const manifest = structuredClone(plan.pod);
      manifest.metadata.labels = { ...manifest.metadata.labels, [POOL_LABEL]: this.name, [POOL_STATE_LABEL]: 'waiting' };
      const container = (manifest.spec as { containers: { env?: unknown[] }[] }).containers[0]!;
      container.env = [
        ...(container.env ?? []),
        { name: 'GP_POOL_CLAIM_TOKEN', valueFrom: { secretKeyRef: { name: pod.secret, key: 'token' } } },
        { name: 'GP_POOL_CLAIM_PORT', value: String(pod.port) },
      ];
      await createObject(this.client, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: pod.secret, namespace: pod.namespace, labels: { [POOL_LABEL]: this.name, [POOL_STATE_LABEL]: 'waiting', component: 'kernel-pool' } },
        type: 'Opaque',
        stringData: { token: pod.token },
      });
      if (this.stopped || !this.pods.has(pod.poolId)) throw new Error('pool stopped');
      await createObject(this.client, manifest);
      await this.waitUntilWaiting(pod);
      pod.state = 'waiting';
      this.consecutiveFailures = 0;
      this.log.info('Pooled pod waiting for a claim', { pod: pod.name, ready_ms: Date.now() - pod.createdAt });
      this.changed();
    } catch (e) {
      // Stopped, or given up meanwhile (yieldOne): remove what may have been created after the first discard.
      if (this.stopped || !this.pods.has(pod.poolId)) return void (await this.discard(pod));
      this.totals.failures += 1;
      this.consecutiveFailures += 1;
      if (this.consecutiveFailures >= 3) this.pauseUntil = Date.now() + 30_000;
      this.log.warn('A pooled pod could not be made ready; removing it', { pod: pod.name, error: e as Error });
      await this.discard(pod);
    }
  }

  /** Until the pod runs and its launcher greets on the claim port (its kernel process started). */
  private async waitUntilWaiting(pod: PooledPod): Promise<void> {
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 120_000);
    const ref = { apiVersion: 'v1', kind: 'Pod', name: pod.name, namespace: pod.namespace };
    while (Date.now() < deadline) {
      if (this.stopped || !this.pods.has(pod.poolId)) throw new Error('pool stopped');
      if (!pod.podIP) {
        const p = await call<{ status?: { phase?: string; podIP?: string } }>(this.client, 'get', ref, { method: 'GET', path: resourcePath(ref) });
        const phase = p.status?.phase;
        if (phase === 'Failed' || phase === 'Succeeded') throw new Error(`pod ended (${phase})`);
        if (phase === 'Running' && p.status?.podIP) pod.podIP = p.status.podIP;
      }
      if (pod.podIP && (await probeClaimPort({ host: pod.podIP, port: pod.port }, 1000))) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('not waiting for a claim within the ready timeout');
  }

  /** Removes a pod from the pool and deletes it with its Secret. */
  private async discard(pod: PooledPod): Promise<void> {
    this.pods.delete(pod.poolId);
    this.changed();
    if (!pod.namespace) return;
    await deleteObject(this.client, { apiVersion: 'v1', kind: 'Pod', name: pod.name, namespace: pod.namespace }, { gracePeriodSeconds: 0 }).catch(() => undefined);
    await deleteObject(this.client, { apiVersion: 'v1', kind: 'Secret', name: pod.secret, namespace: pod.namespace }).catch(() => undefined);
  }

  /** Gives one waiting (or starting) pod up, to make room for a kernel under a limit. Resolves whether one went. */
  async yieldOne(): Promise<boolean> {
    const pod = [...this.pods.values()].find((p) => p.state === 'starting') ?? [...this.pods.values()].find((p) => p.state === 'waiting');
    if (!pod) return false;
    await this.discard(pod);
    return true;
  }

  async claim(req: PoolClaimRequest): Promise<KernelResourcesHandle | undefined> {
    if (this.stopped || this.key === undefined) return undefined;
    const match = matchProfile(this.key, req.resolved);
    if (!match.ok) {
      req.logger.debug('No pooled pod for this launch', { pool: this.name, reason: match.reason });
      return undefined;
    }
    const pod = [...this.pods.values()].find((p) => p.state === 'waiting');
    if (!pod || !pod.podIP) {
      this.totals.misses += 1;
      req.logger.info('No pooled pod waiting; launching cold', { pool: this.name });
      this.changed();
      return undefined;
    }
    pod.state = 'claiming';
    this.changed();
    try {
      const ref = { apiVersion: 'v1', kind: 'Pod', name: pod.name, namespace: pod.namespace };
      // The pod is this kernel's from here on: labelled as a cold kernel's pod is (orphan sweeps, leak checks, watches).
      await call(this.client, 'patch', ref, { method: 'PATCH', path: resourcePath(ref), body: { metadata: { labels: { kernel_id: req.kernelId, [POOL_STATE_LABEL]: 'claimed' } } } });
      await sendClaim({ host: pod.podIP, port: pod.port }, pod.token, {
        kernel_id: req.kernelId,
        response_address: req.registration.responseAddress,
        public_key: req.registration.publicKey,
        response_versions: req.registration.responseVersions,
      });
      pod.token = '';
      this.pods.delete(pod.poolId);
      this.totals.claimed += 1;
      await deleteObject(this.client, { apiVersion: 'v1', kind: 'Secret', name: pod.secret, namespace: pod.namespace }).catch((e: unknown) => req.logger.warn('Could not delete a claimed pod\'s claim Secret', { error: e }));
      req.logger.info('Claimed a pooled pod', { pool: this.name, pod: pod.name });
      return { kernelId: req.kernelId, namespace: pod.namespace, namespaceMode: req.resolved.namespaceMode, podName: pod.name, deleteNamespace: false, objects: [ref] };
    } catch (e) {
      this.totals.failures += 1;
      req.logger.warn('Claiming a pooled pod failed; removing it and launching cold', { pool: this.name, pod: pod.name, error: e as Error });
      await this.discard(pod);
      return undefined;
    } finally {
      this.changed();
      this.fill();
    }
  }

  /** Stops filling and deletes every pod the pool holds (claimed pods are kernels: untouched). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.pods.values()].filter((p) => p.state !== 'claiming').map((p) => this.discard(p)));
  }
}
