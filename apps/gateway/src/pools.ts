/**
 * The gateway's warm pools (`--kernel-pools`, `--kernel-pool-max-age`): one `KernelPool` from @gp/launcher per
 * entry, kept full while the gateway runs, handed to the provisioners of its kernelspec, counted against
 * --max-kernels and exposed in /metrics. Design: packages/launcher/src/pool/README.md.
 */
import { ConfigError, splitCommaList, type Logger, type ParseContext } from '@gp/core';
import { KernelPool, type PooledPodSource } from '@gp/launcher';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KernelSpecCatalog } from './kernelspecs.js';
import type { Registry } from './metrics/registry.js';

/** One `--kernel-pools` entry: `KERNELSPEC=SIZE` or `KERNELSPEC=SIZE@USER`. */
export interface PoolEntry {
  kernelspec: string;
  size: number;
  /** The KERNEL_USERNAME the pods are made for; only that user's requests (with nothing else set) get them. */
  user?: string;
}

const ENTRY_RE = /^([A-Za-z0-9._-]+)=(\d{1,3})(?:@(.+))?$/;

/** Parses `--kernel-pools`: a comma-separated list (or array) of `KERNELSPEC=SIZE[@USER]`, sizes 1..100. */
export function parsePoolEntries(raw: unknown, ctx: ParseContext): PoolEntry[] {
  const what = 'a comma-separated list of KERNELSPEC=SIZE or KERNELSPEC=SIZE@USER (size 1..100), e.g. "k8s_python=5,k8s_python=2@alice"';
  // A string, a list of strings (config file), or entries as this parser returns them (startGateway's options).
  const asText = (x: unknown): string | undefined => {
    if (typeof x === 'string') return x.trim();
    const e = x as Partial<PoolEntry> | null;
    if (typeof e === 'object' && e !== null && typeof e.kernelspec === 'string' && typeof e.size === 'number') return `${e.kernelspec}=${e.size}${e.user !== undefined ? `@${e.user}` : ''}`;
    return undefined;
  };
  const texts = typeof raw === 'string' ? splitCommaList(raw) : Array.isArray(raw) ? raw.map(asText) : undefined;
  const items = texts && texts.every((t) => t !== undefined) ? (texts as string[]).filter(Boolean) : undefined;
  if (!items) throw new ConfigError(ctx.option, ctx.source, raw, what);
  const seen = new Set<string>();
  return items.map((item) => {
    const m = ENTRY_RE.exec(item);
    const size = m ? Number(m[2]) : 0;
    if (!m || size < 1 || size > 100) throw new ConfigError(ctx.option, ctx.source, item, what);
    const key = `${m[1]}@${m[3] ?? ''}`;
    if (seen.has(key)) throw new ConfigError(ctx.option, ctx.source, item, `${what}; each KERNELSPEC[@USER] once`);
    seen.add(key);
    return { kernelspec: m[1]!, size, ...(m[3] !== undefined ? { user: m[3].trim() } : {}) };
  });
}

export interface GatewayPoolsOptions {
  entries: readonly PoolEntry[];
  maxAgeSeconds: number;
  specs: KernelSpecCatalog;
  kubeConfig: KubeConfig;
  hostEnv: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  /** Whether one more pod fits under --max-kernels (kernels counted + pool pods). */
  hasRoom: () => boolean;
}

/** The pools of one gateway: a claim tries the kernelspec's pools in turn (each serves only its exact profile). */
export class GatewayPools {
  private readonly byKernelspec = new Map<string, KernelPool[]>();
  private readonly all: KernelPool[] = [];

  constructor(private readonly o: GatewayPoolsOptions) {
    for (const e of o.entries) {
      const entry = o.specs.get(e.kernelspec);
      const pool = new KernelPool({
        name: poolName(e),
        kernelSpec: entry.spec,
        kernelName: e.kernelspec,
        size: e.size,
        maxAgeSeconds: o.maxAgeSeconds,
        profile: e.user !== undefined ? { KERNEL_USERNAME: e.user } : {},
        kubeConfig: o.kubeConfig,
        hostEnv: o.hostEnv,
        logger: o.logger,
        canCreate: o.hasRoom,
      });
      this.all.push(pool);
      this.byKernelspec.set(e.kernelspec, [...(this.byKernelspec.get(e.kernelspec) ?? []), pool]);
    }
  }

  async start(): Promise<void> {
    await Promise.all(this.all.map((p) => p.start()));
  }

  /** What a provisioner of kernelspec `name` claims from (undefined: no pool for it). */
  sourceFor(name: string): PooledPodSource | undefined {
    const pools = this.byKernelspec.get(name);
    if (!pools) return undefined;
    return {
      claim: async (req) => {
        for (const p of pools) {
          const handle = await p.claim(req);
          if (handle) return handle;
        }
        return undefined;
      },
    };
  }

  /** Pods the pools hold (starting or waiting): counted with the kernels under --max-kernels. */
  podCount(): number {
    return this.all.reduce((n, p) => n + p.podCount, 0);
  }

  /** Gives one pool pod up (a kernel needs the room under --max-kernels). */
  async yieldOne(): Promise<boolean> {
    for (const p of this.all) if (await p.yieldOne()) return true;
    return false;
  }

  /** Tops the pools up again (room under --max-kernels came free). */
  fill(): void {
    for (const p of this.all) p.fill();
  }

  registerMetrics(registry: Registry): void {
    registry
      .gauge({ name: 'gp_gateway_pool_pods', type: 'gauge', labels: ['pool', 'state'], help: 'Warm pool pods by pool (KERNELSPEC or KERNELSPEC.USER) and state (starting, waiting); they count against --max-kernels.' })
      .collect(() => this.all.flatMap((p) => {
        const s = p.stats();
        return [{ labels: { pool: s.name, state: 'starting' }, value: s.starting }, { labels: { pool: s.name, state: 'waiting' }, value: s.waiting }];
      }));
    registry
      .counter({ name: 'gp_gateway_pool_claims_total', type: 'counter', labels: ['pool', 'result'], help: 'Launches that asked a warm pool of their profile, by result: claimed (a pooled pod served it), miss (none waiting: cold launch), failure (pod discarded: cold launch).' })
      .collect(() => this.all.flatMap((p) => {
        const s = p.stats();
        return [{ labels: { pool: s.name, result: 'claimed' }, value: s.claimed }, { labels: { pool: s.name, result: 'miss' }, value: s.misses }, { labels: { pool: s.name, result: 'failure' }, value: s.failures }];
      }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((p) => p.stop()));
  }
}

/** The pool's name (a label value): the kernelspec, with `.USER` for a user's pool, cut to 63 characters. */
function poolName(e: PoolEntry): string {
  const raw = e.user !== undefined ? `${e.kernelspec}.${e.user}` : e.kernelspec;
  return raw.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '') || 'pool';
}
