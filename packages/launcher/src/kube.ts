/**
 * A minimal Kubernetes REST client over client-node's KubeConfig (auth, TLS, proxies). Bodies are sent as plain
 * JSON, so nothing a template renders is dropped on the way (client-node's typed serialization silently drops
 * unknown fields); creates use `fieldValidation=Strict`, so the API server rejects unknown or duplicate fields.
 */
import http from 'node:http';
import https from 'node:https';
import { existsSync } from 'node:fs';
// Deep import: the package index pulls in 600+ generated models (2 MB in the bundle); only KubeConfig is needed.
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { ConfigError } from '@gp/core';
import { type Env } from './env.js';
import { type K8sVerb, kubernetesError, type ObjectRef } from './errors.js';
import { reportKubeRequest } from './kube-observer.js';

export const FIELD_MANAGER = 'gp-launcher';

export interface KubeRequest {
  method: 'GET' | 'POST' | 'DELETE' | 'PATCH' | 'PUT';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
}

export interface KubeClient {
  /** The API server URL, for messages. */
  readonly server: string;
  /** Raw call: resolves with the parsed JSON body on 2xx, rejects with `{statusCode, body}` otherwise. */
  request<T = unknown>(req: KubeRequest): Promise<T>;
}

export const SA_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * In-cluster configuration when KUBERNETES_SERVICE_HOST is set (and a service-account token is mounted),
 * otherwise KUBECONFIG / ~/.kube/config.
 */
export function loadKubeConfig(env: Env = process.env): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (env.KUBERNETES_SERVICE_HOST && existsSync(SA_TOKEN)) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (e) {
    throw new ConfigError('KUBECONFIG', { kind: 'env', name: 'KUBECONFIG' }, env.KUBECONFIG ?? '~/.kube/config', 'a readable kubeconfig file', { cause: e });
  }
  if (!kc.getCurrentCluster()) {
    throw new ConfigError('KUBECONFIG', { kind: 'env', name: 'KUBECONFIG' }, env.KUBECONFIG ?? '~/.kube/config', 'a kubeconfig with a current context and cluster');
  }
  return kc;
}

export function createKubeClient(kc: KubeConfig, requestTimeoutMs = 60_000): KubeClient {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new ConfigError('kubeconfig', { kind: 'default' }, undefined, 'a kubeconfig with a current cluster');
  const server = cluster.server.replace(/\/+$/, '');
  return {
    server,
    async request<T>(req: KubeRequest): Promise<T> {
      const url = new URL(server + req.path);
      for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
      const opts: https.RequestOptions = { method: req.method, headers: { Accept: 'application/json' } };
      await kc.applyToHTTPSOptions(opts);
      const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
      const headers = { ...(opts.headers as Record<string, string>) };
      if (payload) {
        headers['Content-Type'] = req.method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
        headers['Content-Length'] = String(payload.length);
      }
      const mod = url.protocol === 'http:' ? http : https;
      return new Promise<T>((resolve, reject) => {
        let reported = false;
        const report = (status: number): void => {
          if (!reported) reportKubeRequest(kc, req.method, req.path, status);
          reported = true;
        };
        const r = mod.request(url, { ...opts, headers, method: req.method, timeout: requestTimeoutMs }, (res) => {
          report(res.statusCode ?? 0);
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              try {
                resolve((text ? JSON.parse(text) : undefined) as T);
              } catch (e) {
                reject(e);
              }
            } else {
              reject({ statusCode: status, body: text });
            }
          });
        });
        r.on('timeout', () => r.destroy(Object.assign(new Error(`request to ${url.host} timed out`), { code: 'ETIMEDOUT' })));
        r.on('error', (e) => {
          report(0);
          reject(e);
        });
        if (payload) r.write(payload);
        r.end();
      });
    },
  };
}

const PLURALS: Record<string, string> = {
  Pod: 'pods',
  Secret: 'secrets',
  PersistentVolumeClaim: 'persistentvolumeclaims',
  Service: 'services',
  ConfigMap: 'configmaps',
  ServiceAccount: 'serviceaccounts',
  RoleBinding: 'rolebindings',
  Namespace: 'namespaces',
  SparkApplication: 'sparkapplications',
};

export function pluralOf(kind: string): string {
  return PLURALS[kind] ?? `${kind.toLowerCase()}s`;
}

/** REST path of a collection (no name) or an object. Cluster-scoped when namespace is undefined. */
export function resourcePath(ref: ObjectRef, plural = ref.plural ?? pluralOf(ref.kind)): string {
  const base = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
  const ns = ref.namespace !== undefined ? `/namespaces/${encodeURIComponent(ref.namespace)}` : '';
  const name = ref.name !== undefined ? `/${encodeURIComponent(ref.name)}` : '';
  return `${base}${ns}/${plural}${name}`;
}

/** Typed-error wrapper around one call. */
export async function call<T>(client: KubeClient, verb: K8sVerb, target: ObjectRef, req: KubeRequest): Promise<T> {
  try {
    return await client.request<T>(req);
  } catch (e) {
    throw kubernetesError(e, verb, target, client.server);
  }
}

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; [k: string]: unknown };
}

export function refOf(o: Obj): ObjectRef {
  const ref: ObjectRef = { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name };
  if (o.metadata.namespace !== undefined) ref.namespace = o.metadata.namespace;
  return ref;
}

export function createObject<T extends Obj>(client: KubeClient, obj: T, opts: { dryRun?: boolean; plural?: string } = {}): Promise<T> {
  const ref = refOf(obj);
  const collection: ObjectRef = { ...ref };
  delete collection.name;
  return call<T>(client, 'create', ref, {
    method: 'POST',
    path: resourcePath(collection, opts.plural),
    query: { fieldManager: FIELD_MANAGER, fieldValidation: 'Strict', dryRun: opts.dryRun ? 'All' : undefined },
    body: obj,
  });
}

/** Deletes an object; resolves false when it was already gone. */
export async function deleteObject(
  client: KubeClient,
  ref: ObjectRef,
  opts: { gracePeriodSeconds?: number; propagationPolicy?: 'Background' | 'Foreground' | 'Orphan'; plural?: string } = {},
): Promise<boolean> {
  try {
    await call(client, 'delete', ref, {
      method: 'DELETE',
      path: resourcePath(ref, opts.plural),
      query: { gracePeriodSeconds: opts.gracePeriodSeconds, propagationPolicy: opts.propagationPolicy ?? 'Background' },
    });
    return true;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
}
