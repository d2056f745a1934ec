/**
 * An in-memory KubeTransport for unit tests: LIST answers come from a per-path object store, and each
 * WATCH call becomes a {@link FakeStream} the test drives (send events, close, fail).
 */
import { apiErrorFromBody, type KubeTransport, type ListPage, type QueryParams, type RawWatchEvent } from './transport.js';
import type { KubeObject } from './types.js';

export class FakeStream {
  private resolve!: () => void;
  private reject!: (e: unknown) => void;
  readonly done: Promise<void>;
  ended = false;
  abortReason: unknown;

  constructor(
    readonly path: string,
    readonly query: QueryParams,
    private readonly onEvent: (e: RawWatchEvent) => void,
    readonly signal: AbortSignal,
  ) {
    this.done = new Promise<void>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    const onAbort = (): void => {
      this.abortReason = signal.reason;
      this.finish(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }

  get open(): boolean {
    return !this.ended;
  }

  send(type: string, object: unknown): void {
    if (this.ended) throw new Error('stream already ended');
    this.onEvent({ type, object });
  }

  /** The server ends the stream normally (e.g. timeoutSeconds elapsed). */
  close(): void {
    this.finish();
  }

  /** The connection breaks. */
  fail(err: unknown = new Error('socket hang up')): void {
    this.finish(err);
  }

  private finish(err?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (err === undefined) this.resolve();
    else this.reject(err);
  }
}

export class FakeTransport implements KubeTransport {
  readonly identity: string;
  readonly streams: FakeStream[] = [];
  readonly listCalls: { path: string; query: QueryParams }[] = [];
  /** Objects returned by LIST, per collection path. */
  readonly store = new Map<string, KubeObject[]>();
  /** The resourceVersion LIST answers with, per path. */
  readonly listRv = new Map<string, string>();
  /** When set, the next LIST of the path fails with it (then the entry is removed). */
  readonly listFailures = new Map<string, unknown[]>();
  /** When set for a path, LIST answers page by page (`continue` = the page index). */
  readonly pages = new Map<string, ListPage[]>();
  /** Called when a watch opens, to let tests react. */
  onWatch?: (s: FakeStream) => void;

  constructor(identity = 'fake') {
    this.identity = identity;
  }

  set(path: string, items: KubeObject[], rv: string): void {
    this.store.set(path, items);
    this.listRv.set(path, rv);
  }

  async list(path: string, query: QueryParams, signal: AbortSignal): Promise<ListPage> {
    this.listCalls.push({ path, query });
    if (signal.aborted) throw signal.reason;
    const failures = this.listFailures.get(path);
    if (failures && failures.length > 0) throw failures.shift();
    await Promise.resolve();
    const pages = this.pages.get(path);
    if (pages) {
      const page = pages[Number(query.continue ?? 0)];
      if (!page) throw new Error(`no page ${String(query.continue)}`);
      return page;
    }
    return { resourceVersion: this.listRv.get(path) ?? '1', items: [...(this.store.get(path) ?? [])] };
  }

  watch(path: string, query: QueryParams, onEvent: (e: RawWatchEvent) => void, signal: AbortSignal): Promise<void> {
    const s = new FakeStream(path, query, onEvent, signal);
    this.streams.push(s);
    this.onWatch?.(s);
    return s.done;
  }

  /** Streams opened on `path` (all paths if omitted). */
  watchesOn(path?: string): FakeStream[] {
    return path ? this.streams.filter((s) => s.path === path) : this.streams;
  }

  last(path?: string): FakeStream {
    const all = this.watchesOn(path);
    const s = all[all.length - 1];
    if (!s) throw new Error(`no watch opened on ${path ?? 'any path'}`);
    return s;
  }

  openStreams(): FakeStream[] {
    return this.streams.filter((s) => s.open);
  }
}

export function httpError(status: number, reason: string, message: string, path = '/x'): Error {
  return apiErrorFromBody(status, JSON.stringify({ kind: 'Status', status: 'Failure', code: status, reason, message }), path);
}
