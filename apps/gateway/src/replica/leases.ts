/**
 * Gateway replicas on one cluster (`--kernel-store kubernetes`), through coordination.k8s.io Leases in the
 * gateway's namespace:
 * - each replica holds `gp-gateway-replica-<id>` while it lives (renewed every `renewMs`): a launch intent
 *   recorded by a replica whose lease expired is a launch nobody will finish, so the leader removes it;
 * - one replica holds `gp-gateway-leader`: it alone culls idle kernels, sweeps orphans and removes dead kernels'
 *   records, so each of these happens once, not once per replica. When it dies, another takes over once the
 *   lease expires (`durationMs`).
 * Two requests per replica per renewal, whatever the number of kernels.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { GpError, type Logger } from '@gp/core';
import { createKubeClient, type KubeClient } from '@gp/launcher';
import type { KubeConfig } from '@kubernetes/client-node';

export const LEADER_LEASE = 'gp-gateway-leader';
export const REPLICA_LEASE_PREFIX = 'gp-gateway-replica-';
export const REPLICA_LABEL = 'gp.jupyter.org/gateway-replica';

interface LeaseObject {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string; acquireTime?: string; leaseTransitions?: number };
}

export interface ReplicaLeasesOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  logger: Logger;
  /** This replica's id (default: 8 random hex digits). */
  id?: string;
  renewMs?: number;
  durationMs?: number;
  /** Called when this replica becomes or stops being the leader. */
  onLeadership?: (leader: boolean) => void;
}

/** A lease call the API server refused (RBAC) or could not answer. */
export class ReplicaLeaseError extends GpError {
  readonly statusCode: number | undefined;
  readonly reason: string | undefined;
  readonly kubernetesMessage: string | undefined;
  constructor(what: string, namespace: string, cause: unknown) {
    const c = cause as { statusCode?: number; body?: string; message?: string };
    let message: string | undefined;
    let reason: string | undefined;
    try {
      ({ message, reason } = typeof c?.body === 'string' ? (JSON.parse(c.body) as { message?: string; reason?: string }) : {});
    } catch {
      message = undefined;
    }
    super('GP_GATEWAY_LEASE', `Cannot ${what} (coordination.k8s.io Lease in namespace ${namespace}): ${c?.statusCode ? `HTTP ${c.statusCode}${message ? ` ${message}` : ''}` : (c?.message ?? String(cause))}.${c?.statusCode === 403 ? ' Apply the state Role of `--kernel-store kubernetes` (@gp/rbac kernelStore).' : ''}`, {
      cause,
      details: { namespace, ...(c?.statusCode ? { statusCode: c.statusCode } : {}) },
    });
    this.statusCode = c?.statusCode;
    this.reason = reason;
    this.kubernetesMessage = message;
  }
}

/** A Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function expired(lease: LeaseObject | undefined, now: number): boolean {
  const spec = lease?.spec;
  if (!spec?.holderIdentity || !spec.renewTime) return true;
  return Date.parse(spec.renewTime) + (spec.leaseDurationSeconds ?? 15) * 1000 < now;
}

export class ReplicaLeases {
  readonly id: string;
  private readonly client: KubeClient;
  private readonly base: string;
  private readonly renewMs: number;
  private readonly durationSeconds: number;
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private own: LeaseObject | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly o: ReplicaLeasesOptions) {
    this.id = o.id ?? randomBytes(4).toString('hex');
    this.client = createKubeClient(o.kubeConfig, 10_000);
    this.base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(o.namespace)}/leases`;
    this.renewMs = o.renewMs ?? 5000;
    this.durationSeconds = Math.max(1, Math.round((o.durationMs ?? 15_000) / 1000));
  }

  get isLeader(): boolean {
    return this.leading;
  }

  private lease(name: string, previous?: LeaseObject): LeaseObject {
    const now = microTime(new Date());
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name,
        namespace: this.o.namespace,
        labels: name === LEADER_LEASE ? {} : { [REPLICA_LABEL]: this.id },
        ...(previous?.metadata.resourceVersion ? { resourceVersion: previous.metadata.resourceVersion } : {}),
      },
      spec: {
        holderIdentity: `${this.id}@${hostname()}`,
        leaseDurationSeconds: this.durationSeconds,
        renewTime: now,
        acquireTime: previous?.spec.holderIdentity === `${this.id}@${hostname()}` ? (previous.spec.acquireTime ?? now) : now,
        leaseTransitions: (previous?.spec.leaseTransitions ?? 0) + (previous?.spec.holderIdentity === `${this.id}@${hostname()}` ? 0 : 1),
      },
    };
  }

  /** Takes this replica's own lease and tries the leader's once; then renews both every `renewMs`. */
  async start(): Promise<void> {
    await this.renew();
    this.timer = setInterval(() => void this.renew().catch(() => undefined), this.renewMs);
    this.timer.unref();
  }

  /** One renewal (concurrent callers share it). */
  renew(): Promise<void> {
    this.running ??= this.renewOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async renewOnce(): Promise<void> {
    const name = `${REPLICA_LEASE_PREFIX}${this.id}`;
    try {
      this.own = this.own
        ? await this.client.request<LeaseObject>({ method: 'PUT', path: `${this.base}/${name}`, body: this.lease(name, this.own) })
        : await this.client.request<LeaseObject>({ method: 'POST', path: this.base, body: this.lease(name) });
    } catch (e) {
      this.own = undefined;
      if ((e as { statusCode?: number }).statusCode !== 409) {
        this.setLeader(false);
        throw new ReplicaLeaseError(`renew replica lease ${name}`, this.o.namespace, e);
      }
    }
    await this.tryLead();
  }

  private async tryLead(): Promise<void> {
    const path = `${this.base}/${LEADER_LEASE}`;
    try {
      let current: LeaseObject | undefined;
      try {
        current = await this.client.request<LeaseObject>({ method: 'GET', path });
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode !== 404) throw e;
      }
      const mine = current?.spec.holderIdentity === `${this.id}@${hostname()}`;
      if (current && !mine && !expired(current, Date.now())) {
        this.setLeader(false);
        return;
      }
      if (current) await this.client.request({ method: 'PUT', path, body: this.lease(LEADER_LEASE, current) });
      else await this.client.request({ method: 'POST', path: this.base, body: this.lease(LEADER_LEASE) });
      this.setLeader(true);
    } catch (e) {
      // 409: another replica took or renewed it first.
      this.setLeader(false);
      if ((e as { statusCode?: number }).statusCode !== 409) this.o.logger.debug('Taking or renewing the leader lease failed.', { error: e });
    }
  }

  private setLeader(leader: boolean): void {
    if (leader === this.leading) return;
    this.leading = leader;
    this.o.logger.info(leader ? 'This replica leads: it culls, sweeps orphans and removes dead kernels.' : 'This replica no longer leads.', { replica: this.id });
    this.o.onLeadership?.(leader);
  }

  /** Whether replica `id` holds an unexpired lease (a launch it recorded may still finish). */
  async alive(id: string): Promise<boolean> {
    if (id === this.id) return true;
    try {
      const lease = await this.client.request<LeaseObject>({ method: 'GET', path: `${this.base}/${REPLICA_LEASE_PREFIX}${id}` });
      return !expired(lease, Date.now());
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return false;
      throw new ReplicaLeaseError(`read replica lease ${REPLICA_LEASE_PREFIX}${id}`, this.o.namespace, e);
    }
  }

  /** The leader deletes the leases of replicas that died (expired for `durationMs` more). */
  async collectExpired(): Promise<string[]> {
    const list = await this.client.request<{ items: LeaseObject[] }>({ method: 'GET', path: this.base, query: { labelSelector: REPLICA_LABEL } }).catch((e: unknown) => {
      throw new ReplicaLeaseError('list replica leases', this.o.namespace, e);
    });
    const gone: string[] = [];
    const now = Date.now() - this.durationSeconds * 1000;
    for (const lease of list.items) {
      if (lease.metadata.labels?.[REPLICA_LABEL] === this.id || !expired(lease, now)) continue;
      try {
        await this.client.request({ method: 'DELETE', path: `${this.base}/${lease.metadata.name}` });
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode !== 404) throw new ReplicaLeaseError(`delete expired lease ${lease.metadata.name}`, this.o.namespace, e);
      }
      gone.push(lease.metadata.name);
    }
    return gone;
  }

  /** Stops renewing; gives up the leader lease and deletes this replica's own (a clean exit). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
    if (this.leading) {
      try {
        const current = await this.client.request<LeaseObject>({ method: 'GET', path: `${this.base}/${LEADER_LEASE}` });
        if (current.spec.holderIdentity === `${this.id}@${hostname()}`) {
          await this.client.request({ method: 'PUT', path: `${this.base}/${LEADER_LEASE}`, body: { ...current, spec: { ...current.spec, holderIdentity: undefined, renewTime: undefined } } });
        }
      } catch {
        // It expires on its own.
      }
      this.setLeader(false);
    }
    await this.release().catch((e: unknown) => this.o.logger.debug('Deleting this replica\'s lease failed; it expires.', { error: e }));
  }

  /** Deletes this replica's own lease (already gone is fine). */
  async release(): Promise<void> {
    try {
      await this.client.request({ method: 'DELETE', path: `${this.base}/${REPLICA_LEASE_PREFIX}${this.id}` });
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) throw new ReplicaLeaseError(`delete replica lease ${REPLICA_LEASE_PREFIX}${this.id}`, this.o.namespace, e);
    }
  }
}
