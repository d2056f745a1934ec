/**
 * Kernel records in the cluster (`--kernel-store kubernetes`): one Secret per kernel, `gp-kernel-<id>`, in the
 * gateway's namespace (GP_NAMESPACE). The record (kernelspec, owner env, provisioner info with the connection
 * key, last activity) is JSON in the Secret's data, never in labels or annotations; the only label is the kernel
 * id (`gp.jupyter.org/kernel-record`), which is not secret. Once the kernel runs, the Secret carries an
 * ownerReference to the kernel pod (same namespace), so the garbage collector removes it with the pod; a launch
 * intent or a restart in progress has none (the pod does not exist yet, or is being replaced).
 *
 * Every replica watches the records (one shared LIST+WATCH, no request per kernel while idle); `get` reads the
 * watch cache and falls back to one GET for a record the cache has not seen yet (a kernel another replica has
 * just started).
 */
import { GpError, type Logger } from '@gp/core';
import { createKubeClient, type KubeClient, type WatchHub, type WatchLease } from '@gp/launcher';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KernelRecord, KernelStore } from './store.js';

export const RECORD_LABEL = 'gp.jupyter.org/kernel-record';
const DATA_KEY = 'record.json';
const FIELD_MANAGER = 'gp-gateway';

interface SecretObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string }>;
    deletionTimestamp?: string;
  };
  type?: string;
  data?: Record<string, string>;
}

export function recordSecretName(kernelId: string): string {
  return `gp-kernel-${kernelId}`;
}

/** A call on the kernel records the API server refused or could not answer (403, 5xx, refused...). */
export class KernelStoreApiError extends GpError {
  readonly statusCode: number | undefined;
  readonly reason: string | undefined;
  readonly kubernetesMessage: string | undefined;
  constructor(verb: string, what: string, namespace: string, cause: unknown) {
    const c = cause as { statusCode?: number; body?: string; message?: string } | undefined;
    let status: { reason?: string; message?: string } = {};
    try {
      status = typeof c?.body === 'string' ? (JSON.parse(c.body) as typeof status) : {};
    } catch {
      status = {};
    }
    const detail = status.message ?? c?.message ?? String(cause);
    const hint =
      c?.statusCode === 403
        ? ` The gateway's service account lacks the state Role: apply the RBAC of \`--kernel-store kubernetes\` (@gp/rbac kernelStore: 'kubernetes') in namespace ${namespace}.`
        : ' Nothing was changed; retry once the Kubernetes API answers.';
    super('GP_KERNEL_STORE_API', `Cannot ${verb} ${what} in namespace ${namespace}: ${detail}.${hint}`, {
      httpStatus: c?.statusCode === 403 ? 500 : 503,
      cause,
      details: { namespace, verb, ...(c?.statusCode ? { statusCode: c.statusCode } : {}) },
    });
    this.statusCode = c?.statusCode;
    this.reason = status.reason;
    this.kubernetesMessage = status.message;
  }
}

export interface KubernetesKernelStoreOptions {
  kubeConfig: KubeConfig;
  hub: WatchHub;
  /** Where the records live (GP_NAMESPACE). */
  namespace: string;
  logger: Logger;
}

function decode(secret: SecretObject | undefined): KernelRecord | undefined {
  const data = secret?.data?.[DATA_KEY];
  if (!data || secret?.metadata?.deletionTimestamp) return undefined;
  try {
    const record = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as KernelRecord;
    return record && typeof record.kernelId === 'string' && record.provisionerInfo ? record : undefined;
  } catch {
    return undefined;
  }
}

export class KubernetesKernelStore implements KernelStore {
  readonly kind = 'kubernetes';
  readonly shared = true;
  private readonly client: KubeClient;
  private lease: WatchLease<SecretObject> | undefined;
  private readonly base: string;

  constructor(private readonly o: KubernetesKernelStoreOptions) {
    this.client = createKubeClient(o.kubeConfig);
    this.base = `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/secrets`;
  }

  get namespace(): string {
    return this.o.namespace;
  }

  /** Starts the shared watch of the records (idempotent). */
  private watch(): WatchLease<SecretObject> {
    this.lease ??= this.o.hub.acquire<SecretObject>({
      resource: { version: 'v1', plural: 'secrets', namespace: this.o.namespace },
      labelSelector: RECORD_LABEL,
      route: (s) => [s.metadata?.labels?.[RECORD_LABEL] ?? ''],
    });
    return this.lease;
  }

  /** The last LIST or WATCH failure of the record watch (it retries on its own), if any. */
  get watchError(): Error | undefined {
    return this.lease?.watch.lastError;
  }

  /** Whether the watch cache holds the records (false while the API has not answered its LIST). */
  get synced(): boolean {
    return this.lease?.watch.synced ?? false;
  }

  /**
   * Resolves once the records are cached. Rejects with `KernelStoreApiError` when the API refuses the LIST
   * (403: the state Role is missing), or when `signal` aborts; other failures are retried by the watch.
   */
  start(signal?: AbortSignal): Promise<void> {
    const lease = this.watch();
    if (lease.watch.synced) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let stop = (): void => undefined;
      const done = (e?: unknown): void => {
        stop();
        signal?.removeEventListener('abort', aborted);
        if (e) reject(e);
        else resolve();
      };
      const aborted = (): void => done(signal?.reason ?? new Error('aborted'));
      signal?.addEventListener('abort', aborted, { once: true });
      stop = lease.subscribe('', (n) => {
        if (n.type === 'synced') done();
        const refused = n.type === 'error' ? (n.error as { statusCode?: number; reason?: string; apiMessage?: string }) : undefined;
        if (refused?.statusCode === 403) {
          const body = JSON.stringify({ reason: refused.reason, message: refused.apiMessage });
          done(new KernelStoreApiError('list', 'the kernel records (Secrets)', this.o.namespace, { statusCode: 403, body }));
        }
      });
      if (lease.watch.synced) done();
    });
  }

  /** Calls `listener` with the kernel id of each record added, changed or deleted (what another replica did). */
  onChange(listener: (kernelId: string, record: KernelRecord | undefined) => void): () => void {
    const lease = this.watch();
    return lease.watch.subscribe((n) => {
      if (n.type === 'added' || n.type === 'modified') {
        const id = n.object.metadata?.labels?.[RECORD_LABEL];
        if (id) listener(id, decode(n.object));
      } else if (n.type === 'deleted') {
        const id = n.object.metadata?.labels?.[RECORD_LABEL];
        if (id) listener(id, undefined);
      }
    });
  }

  async list(): Promise<KernelRecord[]> {
    return this.watch()
      .watch.list()
      .flatMap((s) => decode(s) ?? []);
  }

  async get(kernelId: string, options: { fresh?: boolean } = {}): Promise<KernelRecord | undefined> {
    const cached = options.fresh ? undefined : this.watch().watch.get(recordSecretName(kernelId), this.o.namespace);
    if (cached) return decode(cached);
    return decode(await this.read(kernelId));
  }

  /** One GET of the record's Secret, bypassing the cache (undefined when there is none). */
  async read(kernelId: string): Promise<SecretObject | undefined> {
    try {
      return await this.client.request<SecretObject>({ method: 'GET', path: `${this.base}/${recordSecretName(kernelId)}` });
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw new KernelStoreApiError('get', `the record of kernel ${kernelId}`, this.o.namespace, e);
    }
  }

  /** Creates or replaces the record (owned by the kernel pod when it runs in this namespace). */
  async put(record: KernelRecord): Promise<void> {
    const owner = await this.owner(record);
    const secret: SecretObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: recordSecretName(record.kernelId),
        namespace: this.o.namespace,
        labels: { [RECORD_LABEL]: record.kernelId },
        ...(owner ? { ownerReferences: [owner] } : {}),
      },
      type: 'Opaque',
      data: { [DATA_KEY]: Buffer.from(JSON.stringify(record)).toString('base64') },
    };
    const path = `${this.base}/${recordSecretName(record.kernelId)}`;
    const query = { fieldManager: FIELD_MANAGER };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.request({ method: 'PUT', path, query, body: secret });
        return;
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode !== 404 || attempt > 2) throw new KernelStoreApiError('update', `the record of kernel ${record.kernelId}`, this.o.namespace, e);
      }
      try {
        await this.client.request({ method: 'POST', path: this.base, query, body: secret });
        return;
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode !== 409) throw new KernelStoreApiError('create', `the record of kernel ${record.kernelId}`, this.o.namespace, e);
      }
    }
  }

  async delete(kernelId: string): Promise<void> {
    try {
      await this.client.request({ method: 'DELETE', path: `${this.base}/${recordSecretName(kernelId)}` });
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return;
      throw new KernelStoreApiError('delete', `the record of kernel ${kernelId}`, this.o.namespace, e);
    }
  }

  /** The kernel pod as owner: only for a running kernel (no intent, no restart) whose pod is in this namespace. */
  private async owner(record: KernelRecord): Promise<{ apiVersion: string; kind: string; name: string; uid: string } | undefined> {
    const info = record.provisionerInfo;
    const podName = info.gp?.pod_name ?? info.assigned_host;
    if (record.launching || record.restarting || !podName || info.kernel_ns !== this.o.namespace || info.gp?.provisioner === 'spark-operator') return undefined;
    try {
      const pod = await this.client.request<SecretObject>({ method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(this.o.namespace)}/pods/${encodeURIComponent(podName)}` });
      const uid = pod.metadata?.uid;
      return uid ? { apiVersion: 'v1', kind: 'Pod', name: podName, uid } : undefined;
    } catch (e) {
      // No owner: the gateway deletes the record itself when the kernel ends (as with the file store).
      this.o.logger.debug('The kernel pod could not be read; its record is written without an owner.', { kernel_id: record.kernelId, error: e });
      return undefined;
    }
  }

  close(): void {
    this.lease?.release();
    this.lease = undefined;
  }
}
