import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay } from './backoff.js';
import { KubeApiError, WatchInactivityError } from './errors.js';
import { FakeTransport, httpError } from './fake-transport.test-helper.js';
import { POD_RESOURCE, ResourceWatch, SPARK_APPLICATION_RESOURCE, collectionPath, type WatchNotification } from './resource-watch.js';
import type { KubeObject } from './types.js';

const NS = 'kernels';
const PATH = '/api/v1/namespaces/kernels/pods';

function obj(name: string, rv: string, extra: Record<string, unknown> = {}): KubeObject {
  return { metadata: { name, namespace: NS, resourceVersion: rv, uid: `uid-${name}` }, ...extra } as KubeObject;
}

/** Let pending promise callbacks run without moving the fake clock. */
async function flush(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

function setup(opts: Partial<ConstructorParameters<typeof ResourceWatch>[0]> = {}) {
  const t = new FakeTransport();
  t.set(PATH, [obj('a', '10'), obj('b', '11')], '12');
  const w = new ResourceWatch({
    transport: t,
    resource: { ...POD_RESOURCE, namespace: NS },
    labelSelector: 'kernel_id',
    random: () => 0,
    backoff: { initialMs: 1000, maxMs: 8000, jitter: 0.5 },
    ...opts,
  });
  const seen: WatchNotification<KubeObject>[] = [];
  w.subscribe((n) => seen.push(n));
  const names = (type: string) => seen.filter((n) => n.type === type).map((n) => ('object' in n ? n.object.metadata?.name : ''));
  return { t, w, seen, names };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('collectionPath', () => {
  it('builds core, grouped and all-namespace paths', () => {
    expect(collectionPath({ ...POD_RESOURCE, namespace: 'ns' })).toBe('/api/v1/namespaces/ns/pods');
    expect(collectionPath({ ...SPARK_APPLICATION_RESOURCE, namespace: 'ns' })).toBe(
      '/apis/sparkoperator.k8s.io/v1beta2/namespaces/ns/sparkapplications',
    );
    expect(collectionPath(POD_RESOURCE)).toBe('/api/v1/pods');
  });
});

describe('backoffDelay', () => {
  it('grows exponentially and is capped', () => {
    const o = { initialMs: 500, maxMs: 30_000, jitter: 0 };
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, o))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffDelay(20, o)).toBe(30_000);
    expect(backoffDelay(10_000, o)).toBe(30_000);
  });
  it('jitter stays within [base*(1-jitter), base]', () => {
    const o = { initialMs: 1000, maxMs: 30_000, jitter: 0.5 };
    expect(backoffDelay(2, o, () => 0)).toBe(4000);
    expect(backoffDelay(2, o, () => 0.999999)).toBe(2000);
    expect(backoffDelay(2, o, () => 0.5)).toBe(3000);
  });
});

describe('ResourceWatch', () => {
  it('lists, then watches from the list resourceVersion with bookmarks, selector and a server timeout', async () => {
    const { t, w, seen, names } = setup();
    w.start();
    await flush();
    expect(t.listCalls[0]).toMatchObject({ path: PATH, query: { labelSelector: 'kernel_id', limit: 500 } });
    expect(names('added')).toEqual(['a', 'b']);
    expect(seen.some((n) => n.type === 'synced')).toBe(true);
    expect(w.synced).toBe(true);
    const s = t.last(PATH);
    expect(s.query).toMatchObject({ resourceVersion: '12', allowWatchBookmarks: true, labelSelector: 'kernel_id' });
    expect(s.query.timeoutSeconds).toBeGreaterThan(0);
    expect(w.get('a')?.metadata?.resourceVersion).toBe('10');
    await w.stop();
  });

  it('follows LIST pages (continue tokens) and watches from the snapshot resourceVersion', async () => {
    const { t, w, names } = setup({ pageSize: 2 });
    t.pages.set(PATH, [
      { resourceVersion: '50', items: [obj('p1', '41'), obj('p2', '42')], continueToken: '1' },
      { resourceVersion: '50', items: [obj('p3', '43')] },
    ]);
    w.start();
    await flush();
    expect(t.listCalls.map((c) => c.query.continue)).toEqual([undefined, '1']);
    expect(t.listCalls.every((c) => c.query.limit === 2)).toBe(true);
    expect(names('added')).toEqual(['p1', 'p2', 'p3']);
    expect(w.counters).toMatchObject({ lists: 1, listRequests: 2 });
    expect(t.last().query.resourceVersion).toBe('50');
    await w.stop();
  });

  it('applies ADDED / MODIFIED / DELETED and drops updates that repeat a known resourceVersion', async () => {
    const { t, w, seen, names } = setup();
    w.start();
    await flush();
    const s = t.last();
    s.send('ADDED', obj('c', '13'));
    s.send('MODIFIED', obj('a', '14', { status: { phase: 'Running' } }));
    s.send('MODIFIED', obj('a', '14', { status: { phase: 'Running' } })); // spurious repeat
    s.send('ADDED', obj('b', '11')); // a reconnect replaying a known object
    s.send('DELETED', obj('b', '15'));
    expect(names('added')).toEqual(['a', 'b', 'c']);
    expect(names('modified')).toEqual(['a']);
    expect(names('deleted')).toEqual(['b']);
    const mod = seen.find((n) => n.type === 'modified');
    expect(mod && mod.type === 'modified' ? mod.previous.metadata?.resourceVersion : undefined).toBe('10');
    expect(w.counters.duplicatesDropped).toBe(2);
    expect(w.list().map((o) => o.metadata?.name).sort()).toEqual(['a', 'c']);
    expect(w.resourceVersion).toBe('15');
    await w.stop();
  });

  it('resumes from the last resourceVersion (including bookmarks) after the server closes the stream', async () => {
    const { t, w } = setup();
    w.start();
    await flush();
    t.last().send('ADDED', obj('c', '20'));
    t.last().send('BOOKMARK', { kind: 'Pod', metadata: { resourceVersion: '25' } });
    t.last().close();
    await flush();
    expect(t.streams).toHaveLength(2);
    expect(t.last().query.resourceVersion).toBe('25');
    expect(t.listCalls).toHaveLength(1);
    expect(w.counters).toMatchObject({ lists: 1, watchesStarted: 2, reconnects: 1, bookmarks: 1 });
    await w.stop();
  });

  it('relists on a 410 ERROR event and sends the difference', async () => {
    const { t, w, names } = setup();
    w.start();
    await flush();
    t.last().send('ADDED', obj('c', '13'));
    // While we were away: a changed, b deleted, d added.
    t.set(PATH, [obj('a', '30'), obj('c', '13'), obj('d', '31')], '32');
    t.last().send('ERROR', { kind: 'Status', status: 'Failure', code: 410, reason: 'Expired', message: 'too old resource version: 12 (29)' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.listCalls).toHaveLength(2);
    expect(w.counters.relists).toBe(1);
    expect(names('modified')).toEqual(['a']);
    expect(names('deleted')).toEqual(['b']);
    expect(names('added')).toEqual(['a', 'b', 'c', 'd']);
    expect(t.last().query.resourceVersion).toBe('32');
    expect(t.openStreams()).toHaveLength(1);
    await w.stop();
  });

  it('relists when the watch request itself answers HTTP 410', async () => {
    const { t, w } = setup();
    w.start();
    await flush();
    t.last().fail(httpError(410, 'Gone', 'too old', PATH));
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.listCalls).toHaveLength(2);
    expect(w.counters.relists).toBe(1);
    await w.stop();
  });

  it('reconnects after errors with growing, capped backoff and resets after a healthy stream', async () => {
    const { t, w, seen } = setup();
    w.start();
    await flush();
    const errorsBefore = () => seen.filter((n) => n.type === 'error').length;
    t.last().fail(new Error('ECONNRESET'));
    await flush();
    expect(t.streams).toHaveLength(1); // waiting out the backoff
    expect(w.state).toBe('backoff');
    await vi.advanceTimersByTimeAsync(999);
    expect(t.streams).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.streams).toHaveLength(2);
    expect(t.last().query.resourceVersion).toBe('12');
    t.last().fail(new Error('ECONNRESET'));
    await vi.advanceTimersByTimeAsync(1999);
    expect(t.streams).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.streams).toHaveLength(3);
    // Cap: further failures never wait more than maxMs (8 s).
    for (let i = 0; i < 5; i++) {
      const n = t.streams.length;
      t.last().fail(new Error('ECONNREFUSED'));
      await vi.advanceTimersByTimeAsync(8000);
      expect(t.streams).toHaveLength(n + 1);
    }
    expect(errorsBefore()).toBe(7);
    expect(w.lastError?.message).toBe('ECONNREFUSED');
    // A stream that delivers an event is healthy: the next failure starts from the initial delay again.
    t.last().send('ADDED', obj('z', '40'));
    expect(w.lastError).toBeUndefined();
    t.last().fail(new Error('ECONNRESET'));
    const n = t.streams.length;
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.streams).toHaveLength(n + 1);
    await w.stop();
  });

  it('aborts a silent connection after the inactivity timeout and reconnects', async () => {
    const { t, w } = setup({ inactivityTimeoutMs: 60_000 });
    w.start();
    await flush();
    const first = t.last();
    await vi.advanceTimersByTimeAsync(59_000);
    first.send('BOOKMARK', { metadata: { resourceVersion: '13' } }); // activity re-arms the timer
    await vi.advanceTimersByTimeAsync(59_000);
    expect(first.open).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(first.open).toBe(false);
    expect(first.abortReason).toBeInstanceOf(WatchInactivityError);
    expect(w.counters.inactivityTimeouts).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.streams).toHaveLength(2);
    expect(t.last().query.resourceVersion).toBe('13');
    await w.stop();
  });

  it('a non-410 ERROR event reconnects from the last resourceVersion without relisting', async () => {
    const { t, w, seen } = setup();
    w.start();
    await flush();
    t.last().send('ERROR', { kind: 'Status', code: 500, reason: 'InternalError', message: 'etcd leader changed' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.listCalls).toHaveLength(1);
    expect(t.streams).toHaveLength(2);
    const err = seen.find((n) => n.type === 'error');
    expect(err && err.type === 'error' ? err.error : undefined).toBeInstanceOf(KubeApiError);
    await w.stop();
  });

  it('retries a failed LIST with backoff and reports the error', async () => {
    const { t, w } = setup();
    t.listFailures.set(PATH, [httpError(403, 'Forbidden', 'pods is forbidden: User "system:serviceaccount:gp:gp" cannot list resource "pods"', PATH)]);
    w.start();
    await flush();
    expect(w.synced).toBe(false);
    expect(w.lastError).toBeInstanceOf(KubeApiError);
    expect(w.lastError?.message).toContain('RBAC');
    expect(t.streams).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(w.synced).toBe(true);
    expect(t.streams).toHaveLength(1);
    expect(w.lastError).toBeUndefined();
    await w.stop();
  });

  it('whenSynced resolves after the first list', async () => {
    const { w } = setup();
    let synced = false;
    void w.whenSynced().then(() => (synced = true));
    await Promise.resolve();
    expect(synced).toBe(false);
    w.start();
    await flush();
    expect(synced).toBe(true);
    await w.stop();
  });

  it('stop() closes the stream and makes no further requests', async () => {
    const { t, w } = setup();
    w.start();
    await flush();
    await w.stop();
    expect(t.openStreams()).toHaveLength(0);
    expect(w.state).toBe('stopped');
    await vi.advanceTimersByTimeAsync(120_000);
    expect(t.streams).toHaveLength(1);
    expect(t.listCalls).toHaveLength(1);
  });

  it('a subscriber that throws does not break the others', async () => {
    const { t, w, names } = setup();
    w.subscribe(() => {
      throw new Error('boom');
    });
    w.start();
    await flush();
    t.last().send('ADDED', obj('c', '13'));
    expect(names('added')).toEqual(['a', 'b', 'c']);
    await w.stop();
  });
});
