/**
 * Reference-counted shared watches. Every kernel in a namespace shares ONE pod watch and ONE event
 * watch (and one SparkApplication watch when Spark kernels run there). Notifications are routed by key
 * (a kernel id, a pod name), so each kernel's listener sees only its own objects. A watch stops when
 * its last lease is released.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '@gp/core';
import {
  EVENT_RESOURCE,
  POD_RESOURCE,
  ResourceWatch,
  SPARK_APPLICATION_RESOURCE,
  collectionPath,
  emptyCounters,
  type ResourceRef,
  type ResourceWatchOptions,
  type WatchCounters,
  type WatchListener,
  type WatchNotification,
} from './resource-watch.js';
import { kubeConfigIdentity } from './identity.js';
import { kubeConfigTransport, type KubeTransport } from './transport.js';
import type { EventLike, KubeObject } from './types.js';

export { kubeConfigIdentity } from './identity.js';

/** The label every kernel pod (and Spark driver pod) carries; the default pod watch selects on it. */
export const KERNEL_ID_LABEL = 'kernel_id';

export interface WatchSpec<T extends KubeObject = KubeObject> {
  resource: ResourceRef;
  labelSelector?: string;
  fieldSelector?: string;
  /** Routing keys of an object; a subscriber registered under any of them receives it. */
  route: (object: T) => string[];
}

export interface WatchLease<T extends KubeObject = KubeObject> {
  readonly watch: ResourceWatch<T>;
  /**
   * Receive notifications about objects routed to `key` (plus `synced` and `error`, which go to every
   * subscriber). Returns the unsubscribe function.
   */
  subscribe(key: string, listener: WatchListener<T>): () => void;
  /** Give the lease back; the last release stops the watch. Idempotent. */
  release(): void;
}

export interface WatchHubOptions {
  logger?: Logger;
  /** Options passed to every ResourceWatch (timeouts, backoff). */
  watch?: Omit<ResourceWatchOptions, 'transport' | 'resource' | 'labelSelector' | 'fieldSelector' | 'logger'>;
  /** Selector of the shared pod watch (default `kernel_id`: every pod that has the label). */
  podLabelSelector?: string;
  /** Field selector of the shared event watch (default none: pods' and SparkApplications' events). */
  eventFieldSelector?: string;
  /**
   * Watch every namespace with one watch per resource instead of one per namespace. For the automatic
   * namespace mode (a namespace per kernel), where per-namespace watches would be per-kernel watches.
   * Needs list/watch on pods, events (and SparkApplications) cluster-wide (a ClusterRole).
   */
  allNamespaces?: boolean;
}

export interface HubWatchStats {
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  leases: number;
  state: string;
  synced: boolean;
  cached: number;
  counters: WatchCounters;
  lastError?: string;
}

/** Keys used by the standard routes. */
export const routeKey = {
  kernel: (kernelId: string) => `kernel:${kernelId}`,
  name: (namespace: string, name: string) => `name:${namespace}/${name}`,
  involved: (namespace: string, kind: string, name: string) => `involved:${namespace}/${kind}/${name}`,
};

/** Pods (and SparkApplications) route by kernel id label and by namespace/name. */
export function podRoute(pod: KubeObject): string[] {
  const keys: string[] = [];
  const kid = pod.metadata?.labels?.[KERNEL_ID_LABEL];
  if (kid) keys.push(routeKey.kernel(kid));
  if (pod.metadata?.name) keys.push(routeKey.name(pod.metadata.namespace ?? '', pod.metadata.name));
  return keys;
}

/** Events route by the object they are about. */
export function eventRoute(e: EventLike): string[] {
  const io = e.involvedObject;
  return io?.name ? [routeKey.involved(io.namespace ?? e.metadata?.namespace ?? '', io.kind ?? '', io.name)] : [];
}

class Router<T extends KubeObject> {
  private readonly byKey = new Map<string, Set<WatchListener<T>>>();
  private readonly all = new Set<WatchListener<T>>();

  constructor(private readonly route: (o: T) => string[]) {}

  add(key: string, l: WatchListener<T>): () => void {
    let set = this.byKey.get(key);
    if (!set) this.byKey.set(key, (set = new Set()));
    set.add(l);
    this.all.add(l);
    return () => {
      set.delete(l);
      if (set.size === 0) this.byKey.delete(key);
      if (![...this.byKey.values()].some((s) => s.has(l))) this.all.delete(l);
    };
  }

  dispatch(n: WatchNotification<T>): void {
    if (n.type === 'synced' || n.type === 'error') {
      for (const l of [...this.all]) l(n);
      return;
    }
    const keys = new Set(this.route(n.object));
    if (n.type === 'modified') for (const k of this.route(n.previous)) keys.add(k);
    const targets = new Set<WatchListener<T>>();
    for (const k of keys) for (const l of this.byKey.get(k) ?? []) targets.add(l);
    for (const l of targets) l(n);
  }
}

interface Entry {
  watch: ResourceWatch<KubeObject>;
  router: Router<KubeObject>;
  leases: number;
  spec: WatchSpec<KubeObject>;
}

const hubsByConfig = new WeakMap<KubeConfig, WatchHub>();
const hubsByIdentity = new Map<string, WatchHub>();

export class WatchHub {
  private readonly entries = new Map<string, Entry>();
  private readonly log: Logger;
  /** Counters of watches that have stopped, so totals survive a watch's end. */
  private readonly retired: WatchCounters = emptyCounters();

  constructor(
    readonly transport: KubeTransport,
    private readonly options: WatchHubOptions = {},
  ) {
    this.log = (options.logger ?? silentLogger).child({ cluster: transport.identity });
  }

  /**
   * The process-wide hub for this cluster and identity: KubeConfig objects with the same server,
   * context, user and credentials share it (see kubeConfigIdentity). `options` apply when the hub is
   * created; later calls get the existing hub.
   */
  static forKubeConfig(kc: KubeConfig, options?: WatchHubOptions): WatchHub {
    let hub = hubsByConfig.get(kc);
    if (hub) return hub;
    const id = kubeConfigIdentity(kc);
    hub = hubsByIdentity.get(id);
    if (!hub) hubsByIdentity.set(id, (hub = new WatchHub(kubeConfigTransport(kc), options)));
    hubsByConfig.set(kc, hub);
    return hub;
  }

  /** The shared pod watch of a namespace, routed by `kernel_id` label and pod name. */
  podSpec(namespace: string): WatchSpec {
    return {
      resource: { ...POD_RESOURCE, namespace: this.scope(namespace) },
      labelSelector: this.options.podLabelSelector ?? KERNEL_ID_LABEL,
      route: podRoute,
    };
  }

  /** The shared event watch of a namespace, routed by involved object. */
  eventSpec(namespace: string): WatchSpec<EventLike> {
    return {
      resource: { ...EVENT_RESOURCE, namespace: this.scope(namespace) },
      fieldSelector: this.options.eventFieldSelector,
      route: eventRoute,
    };
  }

  /** The shared SparkApplication watch of a namespace, routed by name and kernel id label. */
  sparkApplicationSpec(namespace: string, resource: Partial<ResourceRef> = {}): WatchSpec {
    return {
      resource: { ...SPARK_APPLICATION_RESOURCE, ...resource, namespace: this.scope(namespace) },
      route: podRoute,
    };
  }

  private scope(namespace: string): string | undefined {
    return this.options.allNamespaces ? undefined : namespace;
  }

  private key(spec: WatchSpec<KubeObject>): string {
    return `${collectionPath(spec.resource)}?l=${spec.labelSelector ?? ''}&f=${spec.fieldSelector ?? ''}`;
  }

  /** Take a lease on the shared watch for `spec`, starting it if this is the first lease. */
  acquire<T extends KubeObject = KubeObject>(spec: WatchSpec<T>): WatchLease<T> {
    const s = spec as unknown as WatchSpec<KubeObject>;
    const key = this.key(s);
    let entry = this.entries.get(key);
    if (!entry) {
      const watch = new ResourceWatch<KubeObject>({
        ...this.options.watch,
        transport: this.transport,
        resource: s.resource,
        labelSelector: s.labelSelector,
        fieldSelector: s.fieldSelector,
        logger: this.options.logger,
      });
      const router = new Router<KubeObject>(s.route);
      watch.subscribe((n) => router.dispatch(n));
      entry = { watch, router, leases: 0, spec: s };
      this.entries.set(key, entry);
      watch.start();
      this.log.debug('shared watch started', { key });
    }
    entry.leases++;
    const e = entry;
    const unsubs = new Set<() => void>();
    let released = false;
    return {
      watch: e.watch as unknown as ResourceWatch<T>,
      subscribe: (k, listener) => {
        if (released) throw new Error('subscribe on a released watch lease');
        const un = e.router.add(k, listener as unknown as WatchListener<KubeObject>);
        unsubs.add(un);
        return () => {
          un();
          unsubs.delete(un);
        };
      },
      release: () => {
        if (released) return;
        released = true;
        for (const un of unsubs) un();
        unsubs.clear();
        e.leases--;
        if (e.leases === 0 && this.entries.get(key) === e) {
          this.entries.delete(key);
          for (const [k, v] of Object.entries(e.watch.counters) as [keyof WatchCounters, number][]) this.retired[k] += v;
          void e.watch.stop();
          this.log.debug('shared watch stopped', { key });
        }
      },
    };
  }

  /** One row per live shared watch. */
  stats(): HubWatchStats[] {
    return [...this.entries.values()].map((e) => ({
      path: e.watch.path,
      labelSelector: e.spec.labelSelector,
      fieldSelector: e.spec.fieldSelector,
      leases: e.leases,
      state: e.watch.state,
      synced: e.watch.synced,
      cached: e.watch.list().length,
      counters: { ...e.watch.counters },
      lastError: e.watch.lastError?.message,
    }));
  }

  /** Counters summed over every watch this hub ever ran: LIST and WATCH requests, events, errors. */
  totals(): WatchCounters & { activeWatches: number } {
    const t = { ...this.retired };
    for (const e of this.entries.values()) for (const [k, v] of Object.entries(e.watch.counters) as [keyof WatchCounters, number][]) t[k] += v;
    return { ...t, activeWatches: this.entries.size };
  }

  /** Stops every watch (host shutdown). */
  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.watch.stop()));
  }
}
