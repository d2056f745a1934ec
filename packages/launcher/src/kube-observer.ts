/**
 * A hook for hosts that count Kubernetes API requests (a gateway's metrics): `observeKubeRequests(kc, observer)`
 * registers an observer for every request gp's own clients make as that KubeConfig's identity (cluster, context,
 * user: `kubeConfigIdentity`, the key the shared watches use too) — `createKubeClient`'s calls and the watch
 * transport's LIST and WATCH requests. The launcher imports nothing from its hosts; with no observer
 * registered a request costs one Map lookup.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeConfigIdentity } from './watch/identity.js';

export type KubeVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

/** One finished request: its verb, the resource (`pods`, `namespaces`, `pods/log`...) and the outcome. */
export interface KubeRequestEvent {
  verb: KubeVerb;
  resource: string;
  /** The HTTP status, or 0 when no answer came (refused, reset, timeout, aborted). */
  status: number;
}

export interface KubeRequestObserver {
  request(event: KubeRequestEvent): void;
}

const observers = new Map<string, Set<KubeRequestObserver>>();
const identities = new WeakMap<KubeConfig, string>();

function identityOf(kc: KubeConfig): string {
  let id = identities.get(kc);
  if (id === undefined) identities.set(kc, (id = kubeConfigIdentity(kc)));
  return id;
}

/** Observes the requests made as `kc`'s identity; returns the function that stops observing. */
export function observeKubeRequests(kc: KubeConfig, observer: KubeRequestObserver): () => void {
  const id = identityOf(kc);
  let set = observers.get(id);
  if (!set) observers.set(id, (set = new Set()));
  set.add(observer);
  return () => {
    set.delete(observer);
    if (set.size === 0 && observers.get(id) === set) observers.delete(id);
  };
}

/**
 * The resource a request path names: `/api/v1/namespaces/ns/pods/p` → `pods`, `/api/v1/namespaces/ns` →
 * `namespaces`, `/apis/g/v/namespaces/ns/x/n/status` → `x/status`. Bounded by the paths gp calls (no names).
 */
export function resourceOfPath(path: string): string {
  const segs = (path.split('?')[0] ?? '').split('/').filter((s) => s !== '');
  const rest = segs[0] === 'api' ? segs.slice(2) : segs[0] === 'apis' ? segs.slice(3) : [];
  const scoped = rest[0] === 'namespaces' && rest.length >= 3 ? rest.slice(2) : rest;
  const resource = scoped[0];
  if (!resource) return 'other';
  return scoped.length >= 3 ? `${resource}/${scoped[2]}` : resource;
}

/** The Kubernetes verb of a request (GET of a collection is `list`, of one object `get`). */
export function verbOf(method: string, path: string, watch = false): KubeVerb {
  if (watch) return 'watch';
  switch (method.toUpperCase()) {
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default: {
      const segs = (path.split('?')[0] ?? '').split('/').filter((s) => s !== '');
      const rest = segs[0] === 'api' ? segs.slice(2) : segs[0] === 'apis' ? segs.slice(3) : [];
      const scoped = rest[0] === 'namespaces' && rest.length >= 3 ? rest.slice(2) : rest;
      return scoped.length >= 2 ? 'get' : 'list';
    }
  }
}

/** Tells `kc`'s observers about a finished request (an observer that throws is ignored). */
export function reportKubeRequest(kc: KubeConfig, method: string, path: string, status: number, watch = false): void {
  if (observers.size === 0) return;
  const set = observers.get(identityOf(kc));
  if (!set) return;
  const event: KubeRequestEvent = { verb: verbOf(method, path, watch), resource: resourceOfPath(path), status };
  for (const o of set) {
    try {
      o.request(event);
    } catch {
      // an observer's fault is not the request's
    }
  }
}
