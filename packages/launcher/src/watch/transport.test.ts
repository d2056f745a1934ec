/**
 * The node:http transport against a real loopback HTTP server that plays the API server: chunked watch
 * streams, Status bodies, and connections that go silent (the half-open case).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeApiError, WatchInactivityError } from './errors.js';
import { WatchHub, kubeConfigIdentity } from './hub.js';
import { POD_RESOURCE, ResourceWatch, type WatchNotification } from './resource-watch.js';
import { kubeConfigTransport, type RawWatchEvent } from './transport.js';
import type { KubeObject } from './types.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const servers: http.Server[] = [];
const openResponses = new Set<http.ServerResponse>();

async function serve(handler: Handler): Promise<{ kc: KubeConfig; requests: URL[] }> {
  const requests: URL[] = [];
  const server = http.createServer((req, res) => {
    requests.push(new URL(req.url ?? '/', 'http://x'));
    openResponses.add(res);
    res.on('close', () => openResponses.delete(res));
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 't', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'test-token' }],
    contexts: [{ name: 'c', cluster: 't', user: 'u', namespace: 'default' }],
    currentContext: 'c',
  });
  return { kc, requests };
}

afterEach(async () => {
  for (const r of openResponses) r.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

function pod(name: string, rv: string): KubeObject {
  return { metadata: { name, namespace: 'ns', resourceVersion: rv } };
}

function listBody(items: KubeObject[], rv: string): string {
  return JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: rv }, items });
}

/** Resolves when `pred` holds, polling the condition (not asserting on elapsed time). */
async function until(pred: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('kubeConfigTransport', () => {
  it('lists with the bearer token and parses items and resourceVersion', async () => {
    let auth: string | undefined;
    const { kc, requests } = await serve((req, res) => {
      auth = req.headers.authorization;
      res.writeHead(200, { 'content-type': 'application/json' }).end(listBody([pod('a', '5')], '7'));
    });
    const t = kubeConfigTransport(kc);
    const page = await t.list('/api/v1/namespaces/ns/pods', { labelSelector: 'kernel_id', limit: 10 }, new AbortController().signal);
    expect(page.resourceVersion).toBe('7');
    expect(page.items.map((i) => i.metadata?.name)).toEqual(['a']);
    expect(auth).toBe('Bearer test-token');
    expect(requests[0]?.pathname).toBe('/api/v1/namespaces/ns/pods');
    expect(requests[0]?.searchParams.get('labelSelector')).toBe('kernel_id');
  });

  it('turns a Status body into a KubeApiError with reason and message', async () => {
    const { kc } = await serve((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' }).end(
        JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403, message: 'pods is forbidden: User "x" cannot list resource "pods"' }),
      );
    });
    const err = await kubeConfigTransport(kc).list('/api/v1/namespaces/ns/pods', {}, new AbortController().signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).statusCode).toBe(403);
    expect((err as KubeApiError).reason).toBe('Forbidden');
    expect((err as KubeApiError).message).toContain('cannot list resource');
  });

  it('streams watch lines, skips torn lines, and resolves when the server ends the stream', async () => {
    const { kc, requests } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(JSON.stringify({ type: 'ADDED', object: pod('a', '8') }) + '\n');
      res.write('{"type":"MODIF');
      res.write('\n' + JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } }) + '\n');
      res.end();
    });
    const events: RawWatchEvent[] = [];
    await kubeConfigTransport(kc).watch('/api/v1/namespaces/ns/pods', { resourceVersion: '7' }, (e) => events.push(e), new AbortController().signal);
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'BOOKMARK']);
    expect(requests[0]?.searchParams.get('watch')).toBe('true');
    expect(requests[0]?.searchParams.get('resourceVersion')).toBe('7');
  });

  it('the abort signal ends a request that never answered (no headers yet)', async () => {
    const { kc } = await serve(() => {
      /* never answer */
    });
    const ac = new AbortController();
    const p = kubeConfigTransport(kc).watch('/api/v1/namespaces/ns/pods', {}, () => {}, ac.signal);
    setTimeout(() => ac.abort(new Error('gave up')), 50);
    await expect(p).rejects.toThrow('gave up');
  });

  it('rejects when the connection breaks mid-stream', async () => {
    const { kc } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(JSON.stringify({ type: 'ADDED', object: pod('a', '8') }) + '\n');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const p = kubeConfigTransport(kc).watch('/api/v1/namespaces/ns/pods', {}, () => {}, new AbortController().signal);
    await expect(p).rejects.toBeInstanceOf(Error);
  });
});

describe('WatchHub.forKubeConfig', () => {
  function config(user: { name: string; token: string }, server = 'https://127.0.0.1:6443'): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 't', server, skipTLSVerify: false }],
      users: [user],
      contexts: [{ name: 'c', cluster: 't', user: user.name }],
      currentContext: 'c',
    });
    return kc;
  }

  it('shares one hub between KubeConfig objects for the same cluster and credentials, never across identities', () => {
    const a = WatchHub.forKubeConfig(config({ name: 'gp', token: 't1' }));
    const b = WatchHub.forKubeConfig(config({ name: 'gp', token: 't1' }));
    const otherToken = WatchHub.forKubeConfig(config({ name: 'gp', token: 't2' }));
    const otherServer = WatchHub.forKubeConfig(config({ name: 'gp', token: 't1' }, 'https://10.0.0.1:6443'));
    expect(b).toBe(a);
    expect(otherToken).not.toBe(a);
    expect(otherServer).not.toBe(a);
    expect(kubeConfigIdentity(config({ name: 'gp', token: 'secret-token' }))).not.toContain('secret-token');
  });
});

describe('ResourceWatch over HTTP', () => {
  it('a silent (half-open) watch connection is aborted by the inactivity timer and the next event still arrives', async () => {
    let watchCount = 0;
    const { kc, requests } = await serve((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.searchParams.get('watch') !== 'true') {
        res.writeHead(200).end(listBody([pod('a', '5')], '5'));
        return;
      }
      watchCount++;
      res.writeHead(200, { 'content-type': 'application/json' });
      if (watchCount === 1) return; // headers, then silence forever: a dead peer
      res.write(JSON.stringify({ type: 'ADDED', object: pod('b', '6') }) + '\n');
    });
    const w = new ResourceWatch({
      transport: kubeConfigTransport(kc),
      resource: { ...POD_RESOURCE, namespace: 'ns' },
      inactivityTimeoutMs: 300,
      backoff: { initialMs: 10, maxMs: 50 },
    });
    const seen: WatchNotification<KubeObject>[] = [];
    w.subscribe((n) => seen.push(n));
    w.start();
    try {
      await until(() => w.get('b') !== undefined, 'the event on the second connection');
      expect(w.counters.inactivityTimeouts).toBe(1);
      expect(w.counters.watchesStarted).toBe(2);
      expect(seen.some((n) => n.type === 'error' && n.error instanceof WatchInactivityError)).toBe(true);
      const watches = requests.filter((r) => r.searchParams.get('watch') === 'true');
      expect(watches[1]?.searchParams.get('resourceVersion')).toBe('5');
      expect(watches[1]?.searchParams.get('allowWatchBookmarks')).toBe('true');
    } finally {
      await w.stop();
    }
  });

  it('a server-side 410 ERROR event leads to a relist', async () => {
    let lists = 0;
    let watches = 0;
    const { kc } = await serve((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.searchParams.get('watch') !== 'true') {
        lists++;
        res.writeHead(200).end(lists === 1 ? listBody([pod('a', '5')], '5') : listBody([pod('c', '50')], '50'));
        return;
      }
      watches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      if (watches === 1) {
        res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } }) + '\n');
      }
    });
    const w = new ResourceWatch({ transport: kubeConfigTransport(kc), resource: { ...POD_RESOURCE, namespace: 'ns' }, backoff: { initialMs: 10, maxMs: 50 } });
    const deleted: string[] = [];
    w.subscribe((n) => {
      if (n.type === 'deleted') deleted.push(n.object.metadata?.name ?? '');
    });
    w.start();
    try {
      await until(() => w.get('c') !== undefined, 'the relisted object');
      expect(deleted).toEqual(['a']);
      expect(w.counters.relists).toBe(1);
      expect(w.resourceVersion).toBe('50');
    } finally {
      await w.stop();
    }
  });
});
