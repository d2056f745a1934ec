/**
 * A resumable watch over one resource collection (one namespace or all), with a local cache.
 *
 * LIST (paginated) → cache + resourceVersion → WATCH from that resourceVersion with bookmarks. A 410
 * (an ERROR event or the HTTP status) relists and sends subscribers the difference; any other error or
 * close reopens the watch from the last resourceVersion after an exponential, jittered, capped
 * backoff. A local inactivity timer aborts a connection on which nothing (not even a bookmark) arrived
 * for `inactivityTimeoutMs`, so a half-open TCP connection cannot hang the watch. Updates that repeat a
 * resourceVersion already in the cache (as reconnects can produce) are dropped.
 */
import { silentLogger, type Logger } from '@gp/core';
import { backoffDelay, sleep, type BackoffOptions } from './backoff.js';
import { KubeApiError, WatchInactivityError } from './errors.js';
import type { KubeTransport, RawWatchEvent } from './transport.js';
import type { KubeObject } from './types.js';

/** A resource collection: core (`group` empty) or an API group; `namespace` empty = all namespaces. */
export interface ResourceRef {
  group?: string;
  version: string;
  plural: string;
  namespace?: string;
}

export const POD_RESOURCE = { version: 'v1', plural: 'pods' } as const;
export const EVENT_RESOURCE = { version: 'v1', plural: 'events' } as const;
export const SPARK_APPLICATION_RESOURCE = { group: 'sparkoperator.k8s.io', version: 'v1beta2', plural: 'sparkapplications' } as const;

/** `/api/v1/namespaces/ns/pods`, `/apis/sparkoperator.k8s.io/v1beta2/namespaces/ns/sparkapplications`... */
export function collectionPath(ref: ResourceRef): string {
  const prefix = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
  const ns = ref.namespace ? `/namespaces/${encodeURIComponent(ref.namespace)}` : '';
  return `${prefix}${ns}/${ref.plural}`;
}

export type WatchNotification<T> =
  | { type: 'added'; object: T }
  | { type: 'modified'; object: T; previous: T }
  | { type: 'deleted'; object: T }
  /** The cache was (re)filled from a LIST; differences were sent as added/modified/deleted first. */
  | { type: 'synced'; relist: boolean }
  /** A list or watch failed; the watch retries on its own. */
  | { type: 'error'; error: Error };

export type WatchListener<T> = (n: WatchNotification<T>) => void;

/** Request and event counts: what a benchmark needs to count API requests. */
export interface WatchCounters {
  /** Complete LISTs (initial + relists). */
  lists: number;
  /** LIST requests (pages). */
  listRequests: number;
  /** WATCH requests opened. */
  watchesStarted: number;
  /** WATCH requests opened after the first one. */
  reconnects: number;
  /** LISTs caused by 410 Gone. */
  relists: number;
  /** Lines received on watch streams (including bookmarks and errors). */
  eventsReceived: number;
  bookmarks: number;
  /** Updates dropped because the cache already had that resourceVersion. */
  duplicatesDropped: number;
  errors: number;
  inactivityTimeouts: number;
}

export function emptyCounters(): WatchCounters {
  return {
    lists: 0,
    listRequests: 0,
    watchesStarted: 0,
    reconnects: 0,
    relists: 0,
    eventsReceived: 0,
    bookmarks: 0,
    duplicatesDropped: 0,
    errors: 0,
    inactivityTimeouts: 0,
  };
}

export interface ResourceWatchOptions {
  transport: KubeTransport;
  resource: ResourceRef;
  labelSelector?: string;
  fieldSelector?: string;
  logger?: Logger;
  backoff?: BackoffOptions;
  /**
   * Server-side `timeoutSeconds` of each WATCH request (default 300, raised by up to 20% at random so
   * that many watches do not reconnect together).
   */
  serverTimeoutSeconds?: number;
  /**
   * Abort the connection when nothing arrives for this long (default 90 000 ms). The API server sends
   * a bookmark about every minute to watches that allow them, so a live connection is never quiet
   * that long; on servers that do not, this just reopens an idle watch now and then.
   */
  inactivityTimeoutMs?: number;
  /** Abort a LIST request after this long (default 60 000 ms). */
  listTimeoutMs?: number;
  /** `limit` of each LIST page (default 500). */
  pageSize?: number;
  /** A stream that delivered nothing and lasted less than this counts as a failure (default 5 000 ms). */
  minHealthyStreamMs?: number;
  /** Randomness for jitter, for tests. */
  random?: () => number;
}

export type WatchState = 'idle' | 'listing' | 'watching' | 'backoff' | 'stopped';

interface StatusObject {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
}

const GONE = Symbol('gone');

type WatchOutcome =
  | { kind: 'gone'; healthy: boolean }
  | { kind: 'closed'; healthy: boolean }
  | { kind: 'error'; error: Error; healthy: boolean };

function objectKey(o: KubeObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class ResourceWatch<T extends KubeObject = KubeObject> {
  readonly path: string;
  readonly counters: WatchCounters = emptyCounters();
  private readonly cache = new Map<string, T>();
  private readonly listeners = new Set<WatchListener<T>>();
  private readonly log: Logger;
  private readonly stopController = new AbortController();
  private readonly opts: Required<Omit<ResourceWatchOptions, 'labelSelector' | 'fieldSelector' | 'logger' | 'backoff'>> &
    Pick<ResourceWatchOptions, 'labelSelector' | 'fieldSelector' | 'backoff'>;
  private rv = '';
  private failures = 0;
  private _state: WatchState = 'idle';
  private _synced = false;
  private _lastError: Error | undefined;
  private syncWaiters: (() => void)[] = [];
  private running: Promise<void> | undefined;

  constructor(options: ResourceWatchOptions) {
    this.opts = {
      serverTimeoutSeconds: 300,
      inactivityTimeoutMs: 90_000,
      listTimeoutMs: 60_000,
      pageSize: 500,
      minHealthyStreamMs: 5_000,
      random: Math.random,
      ...options,
    };
    this.path = collectionPath(options.resource);
    this.log = (options.logger ?? silentLogger).child({
      watch: this.path,
      ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
      ...(options.fieldSelector ? { fieldSelector: options.fieldSelector } : {}),
    });
  }

  get state(): WatchState {
    return this._state;
  }
  /** True once the first LIST filled the cache. */
  get synced(): boolean {
    return this._synced;
  }
  /** The last list/watch failure, cleared by the next successful list or received event. */
  get lastError(): Error | undefined {
    return this._lastError;
  }
  get resourceVersion(): string {
    return this.rv;
  }

  /** Starts listing and watching (idempotent). */
  start(): this {
    if (!this.running && !this.stopController.signal.aborted) {
      this.running = this.run().catch((e: unknown) => {
        this.log.error('watch loop crashed', { error: e });
      });
    }
    return this;
  }

  /** Stops the watch and closes its connection. Resolves when the loop has ended. */
  async stop(): Promise<void> {
    if (!this.stopController.signal.aborted) this.stopController.abort(new Error('watch stopped'));
    this._state = 'stopped';
    for (const w of this.syncWaiters.splice(0)) w();
    await this.running;
  }

  get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  subscribe(listener: WatchListener<T>): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get(name: string, namespace?: string): T | undefined {
    return this.cache.get(`${namespace ?? this.opts.resource.namespace ?? ''}/${name}`);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  /** Resolves once the cache is filled (or the watch is stopped, or `signal` aborts). */
  whenSynced(signal?: AbortSignal): Promise<void> {
    if (this._synced || this.stopped || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.syncWaiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private emit(n: WatchNotification<T>): void {
    for (const l of [...this.listeners]) {
      try {
        l(n);
      } catch (e) {
        this.log.warn('watch subscriber threw', { error: e });
      }
    }
  }

  private recordError(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    this._lastError = err;
    this.counters.errors++;
    this.emit({ type: 'error', error: err });
  }

  private async pause(): Promise<void> {
    const delay = backoffDelay(this.failures, this.opts.backoff, this.opts.random);
    this.failures++;
    this._state = 'backoff';
    this.log.debug('watch backing off', { delayMs: delay, failures: this.failures });
    await sleep(delay, this.stopController.signal);
  }

  private async run(): Promise<void> {
    let needList = true;
    let relist = false;
    while (!this.stopped) {
      if (needList) {
        this._state = 'listing';
        try {
          await this.relist(relist);
          needList = false;
        } catch (e) {
          if (this.stopped) break;
          this.log.warn('list failed; retrying', { error: e });
          this.recordError(e);
          await this.pause();
          continue;
        }
      }
      this._state = 'watching';
      const outcome = await this.watchOnce();
      if (this.stopped) break;
      if (outcome.kind === 'gone') {
        this.log.info('resourceVersion expired (410); relisting', { resourceVersion: this.rv });
        this.counters.relists++;
        needList = true;
        relist = true;
        if (!outcome.healthy) await this.pause();
      } else if (outcome.kind === 'closed') {
        if (outcome.healthy) this.failures = 0;
        else await this.pause();
      } else {
        this.log.warn('watch failed; reconnecting', { error: outcome.error, resourceVersion: this.rv });
        this.recordError(outcome.error);
        if (outcome.healthy) this.failures = 0;
        await this.pause();
      }
    }
    this._state = 'stopped';
  }

  private linkedController(timeoutMs?: number): { controller: AbortController; dispose: () => void } {
    const controller = new AbortController();
    const onStop = (): void => controller.abort(this.stopController.signal.reason);
    this.stopController.signal.addEventListener('abort', onStop, { once: true });
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => controller.abort(new Error(`LIST ${this.path} timed out after ${timeoutMs} ms`)), timeoutMs);
    return {
      controller,
      dispose: () => {
        this.stopController.signal.removeEventListener('abort', onStop);
        if (timer) clearTimeout(timer);
      },
    };
  }

  private async relist(isRelist: boolean): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const { controller, dispose } = this.linkedController(this.opts.listTimeoutMs);
      try {
        this.counters.listRequests++;
        const page = await this.opts.transport.list(
          this.path,
          { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector, limit: this.opts.pageSize, continue: cont },
          controller.signal,
        );
        items.push(...(page.items as T[]));
        cont = page.continueToken;
        rv = page.resourceVersion;
      } finally {
        dispose();
      }
    } while (cont && !this.stopped);
    if (this.stopped) return;
    this.counters.lists++;
    this.rv = rv;
    this._lastError = undefined;
    // Send subscribers the difference between the old cache and the fresh list.
    const seen = new Set<string>();
    for (const item of items) {
      const key = objectKey(item);
      seen.add(key);
      const prev = this.cache.get(key);
      this.cache.set(key, item);
      if (!prev) this.emit({ type: 'added', object: item });
      else if (prev.metadata?.resourceVersion !== item.metadata?.resourceVersion) this.emit({ type: 'modified', object: item, previous: prev });
    }
    for (const [key, prev] of [...this.cache]) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.emit({ type: 'deleted', object: prev });
      }
    }
    this._synced = true;
    this.log.debug('listed', { items: items.length, resourceVersion: rv, relist: isRelist });
    this.emit({ type: 'synced', relist: isRelist });
    for (const w of this.syncWaiters.splice(0)) w();
  }

  private async watchOnce(): Promise<WatchOutcome> {
    const { controller, dispose } = this.linkedController();
    const signal = controller.signal;
    const inactivityMs = this.opts.inactivityTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = (): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => controller.abort(new WatchInactivityError(this.path, inactivityMs)), inactivityMs);
    };
    let received = 0;
    let gone = false;
    let errorEvent: Error | undefined;
    const startedAt = Date.now();
    const healthy = (): boolean => received > 0 || Date.now() - startedAt >= this.opts.minHealthyStreamMs;
    const timeoutSeconds = Math.round(this.opts.serverTimeoutSeconds * (1 + 0.2 * this.opts.random()));
    if (this.counters.watchesStarted > 0) this.counters.reconnects++;
    this.counters.watchesStarted++;
    arm();
    try {
      await this.opts.transport.watch(
        this.path,
        {
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
          resourceVersion: this.rv || undefined,
          allowWatchBookmarks: true,
          timeoutSeconds,
        },
        (ev) => {
          if (signal.aborted) return;
          arm();
          received++;
          this.counters.eventsReceived++;
          const r = this.handle(ev);
          if (r === GONE) {
            gone = true;
            controller.abort(GONE);
          } else if (r instanceof Error) {
            errorEvent = r;
            controller.abort(r);
          }
        },
        signal,
      );
      if (gone) return { kind: 'gone', healthy: received > 1 };
      return { kind: 'closed', healthy: healthy() };
    } catch (e) {
      if (gone) return { kind: 'gone', healthy: received > 1 };
      if (e instanceof KubeApiError && e.statusCode === 410) return { kind: 'gone', healthy: false };
      const reason: unknown = signal.aborted ? signal.reason : e;
      if (reason instanceof WatchInactivityError) this.counters.inactivityTimeouts++;
      const error = errorEvent ?? (reason instanceof Error ? reason : new Error(describe(reason)));
      return { kind: 'error', error, healthy: healthy() };
    } finally {
      if (timer) clearTimeout(timer);
      dispose();
    }
  }

  /** Applies one watch line; returns GONE for a 410, an Error for another ERROR event. */
  private handle(ev: RawWatchEvent): typeof GONE | Error | undefined {
    const type = ev.type;
    if (type === 'ERROR') {
      const status = (ev.object ?? {}) as StatusObject;
      if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone') return GONE;
      return new KubeApiError(status.code ?? 500, status.reason, status.message, this.path);
    }
    const obj = ev.object as T | undefined;
    const rv = obj?.metadata?.resourceVersion;
    if (type === 'BOOKMARK') {
      this.counters.bookmarks++;
      if (rv) this.rv = rv;
      return undefined;
    }
    if (!obj?.metadata?.name) return undefined;
    this._lastError = undefined;
    const key = objectKey(obj);
    const prev = this.cache.get(key);
    if (rv) this.rv = rv;
    if (type === 'DELETED') {
      this.cache.delete(key);
      this.emit({ type: 'deleted', object: obj });
      return undefined;
    }
    if (type !== 'ADDED' && type !== 'MODIFIED') return undefined;
    if (prev && rv !== undefined && prev.metadata?.resourceVersion === rv) {
      this.counters.duplicatesDropped++;
      return undefined;
    }
    this.cache.set(key, obj);
    if (prev) this.emit({ type: 'modified', object: obj, previous: prev });
    else this.emit({ type: 'added', object: obj });
    return undefined;
  }
}
