/**
 * The gateway's metrics: `METRICS` is the one definition of each (name, type, labels, meaning) that the
 * exposition and the README table derive from; `GatewayMetrics` holds the registry and what the gateway calls
 * (launch results, restarts, relayed messages...). No label carries a kernel id or a user name: kernelspecs
 * and namespaces are bounded by the operator's configuration (an automatic per-kernel namespace is reported
 * as `namespace="(automatic)"`), so an unauthenticated scrape learns no one's kernels and series stay few.
 */
import { existsSync, readdirSync } from 'node:fs';
import { Registry, type Counter, type Gauge, type Histogram, type MetricDefinition } from './registry.js';

/** Launch durations: 0.1 s (a re-used pod) .. 300 s (a slow image pull), roughly ×2 apart. */
export const LAUNCH_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 180, 300] as const;

/** The namespace label of a kernel in an automatic (per-kernel) namespace: its real name holds the kernel id. */
export const AUTOMATIC_NAMESPACE = '(automatic)';

const def = <L extends string>(d: MetricDefinition<L>): MetricDefinition<L> => d;

export const METRICS = {
  kernelsRunning: def({ name: 'gp_gateway_kernels_running', type: 'gauge', labels: ['kernelspec', 'namespace'], help: 'Kernels the gateway serves now, by kernelspec and namespace ((automatic) for per-kernel namespaces, whose names hold the kernel id).' }),
  kernelsPending: def({ name: 'gp_gateway_kernels_pending_reattach', type: 'gauge', labels: [], help: 'Recorded kernels (or unfinished launches) waiting for the Kubernetes API to be re-attached or removed.' }),
  launches: def({
    name: 'gp_gateway_kernel_launches_total',
    type: 'counter',
    labels: ['kernelspec', 'result', 'code'],
    help: 'Kernel launches by kernelspec, result (success, failure) and gp error code (GP_*; empty on success).',
  }),
  launchDuration: def({
    name: 'gp_gateway_kernel_launch_duration_seconds',
    type: 'histogram',
    labels: ['kernelspec', 'result'],
    buckets: LAUNCH_BUCKETS,
    help: 'Seconds from POST /api/kernels to the kernel answering (or the launch failing), by kernelspec and result.',
  }),
  restarts: def({ name: 'gp_gateway_kernel_restarts_total', type: 'counter', labels: ['kernelspec', 'result'], help: 'Kernel restarts by kernelspec and result (success, failure).' }),
  interrupts: def({ name: 'gp_gateway_kernel_interrupts_total', type: 'counter', labels: ['kernelspec', 'result'], help: 'Kernel interrupts by kernelspec and result (success, failure).' }),
  shutdowns: def({ name: 'gp_gateway_kernel_shutdowns_total', type: 'counter', labels: ['kernelspec', 'result'], help: 'Kernel shutdowns (DELETE, culling, gateway stop) by kernelspec and result (success, failure).' }),
  culls: def({ name: 'gp_gateway_kernels_culled_total', type: 'counter', labels: ['kernelspec'], help: 'Idle kernels the culler shut down, by kernelspec.' }),
  websockets: def({ name: 'gp_gateway_websockets_open', type: 'gauge', labels: [], help: 'Kernel WebSockets open or being set up (what the connection caps count).' }),
  messages: def({
    name: 'gp_gateway_messages_relayed_total',
    type: 'counter',
    labels: ['channel', 'direction'],
    help: 'Jupyter messages relayed between WebSockets and kernels, by channel (shell, control, stdin, iopub) and direction (to_kernel, to_client; an iopub message to n clients counts n).',
  }),
  kubeRequests: def({
    name: 'gp_gateway_kubernetes_requests_total',
    type: 'counter',
    labels: ['verb', 'resource', 'code'],
    help: 'Kubernetes API requests of the gateway and its provisioners (creates, deletes, gets, LISTs, WATCHes) by verb, resource and HTTP status (0: no answer).',
  }),
  watchReconnects: def({ name: 'gp_gateway_kubernetes_watch_reconnects_total', type: 'counter', labels: [], help: 'WATCH requests the shared watches re-opened after their first (server timeouts, drops, errors).' }),
  apiReachable: def({ name: 'gp_gateway_kubernetes_api_reachable', type: 'gauge', labels: [], help: '1 while the Kubernetes API server answers the health check, else 0.' }),
  apiOutages: def({ name: 'gp_gateway_kubernetes_api_outages_total', type: 'counter', labels: [], help: 'Times the Kubernetes API server became unreachable.' }),
  residentMemory: def({ name: 'process_resident_memory_bytes', type: 'gauge', labels: [], help: 'Resident memory size in bytes.' }),
  openFds: def({ name: 'process_open_fds', type: 'gauge', labels: [], help: 'Open file descriptors (Linux only).' }),
} as const;

export type Result = 'success' | 'failure';

/** What the gateway's parts report; every method is cheap and never throws into the caller. */
export interface MetricsSink {
  launch(kernelspec: string, result: Result, code: string, seconds: number): void;
  restart(kernelspec: string, result: Result): void;
  interrupt(kernelspec: string, result: Result): void;
  shutdown(kernelspec: string, result: Result): void;
  culled(kernelspec: string): void;
  relayed(channel: string, direction: 'to_kernel' | 'to_client'): void;
  kubeRequest(verb: string, resource: string, status: number): void;
}

/** What is read at scrape time from state kept elsewhere. */
export interface MetricsSources {
  kernels(): Array<{ kernelspec: string; namespace: string }>;
  pendingKernels(): number;
  webSockets(): number;
  watchReconnects(): number;
  api(): { reachable: boolean; outages: number };
}

function openFds(): number | undefined {
  if (!existsSync('/proc/self/fd')) return undefined;
  try {
    return readdirSync('/proc/self/fd').length - 1; // less the descriptor readdir itself opened
  } catch {
    return undefined;
  }
}

export class GatewayMetrics implements MetricsSink {
  readonly registry = new Registry();
  private readonly launches: Counter<'kernelspec' | 'result' | 'code'>;
  private readonly launchDuration: Histogram<'kernelspec' | 'result'>;
  private readonly restarts: Counter<'kernelspec' | 'result'>;
  private readonly interrupts: Counter<'kernelspec' | 'result'>;
  private readonly shutdowns: Counter<'kernelspec' | 'result'>;
  private readonly culls: Counter<'kernelspec'>;
  private readonly messages: Counter<'channel' | 'direction'>;
  private readonly kubeRequests: Counter<'verb' | 'resource' | 'code'>;

  constructor(sources?: MetricsSources) {
    const r = this.registry;
    const running: Gauge<'kernelspec' | 'namespace'> = r.gauge(METRICS.kernelsRunning);
    const pending: Gauge<never> = r.gauge(METRICS.kernelsPending);
    this.launches = r.counter(METRICS.launches);
    this.launchDuration = r.histogram(METRICS.launchDuration);
    this.restarts = r.counter(METRICS.restarts);
    this.interrupts = r.counter(METRICS.interrupts);
    this.shutdowns = r.counter(METRICS.shutdowns);
    this.culls = r.counter(METRICS.culls);
    const websockets: Gauge<never> = r.gauge(METRICS.websockets);
    this.messages = r.counter(METRICS.messages);
    this.kubeRequests = r.counter(METRICS.kubeRequests);
    const reconnects: Counter<never> = r.counter(METRICS.watchReconnects);
    const reachable: Gauge<never> = r.gauge(METRICS.apiReachable);
    const outages: Counter<never> = r.counter(METRICS.apiOutages);
    const rss: Gauge<never> = r.gauge(METRICS.residentMemory);
    const fds: Gauge<never> = r.gauge(METRICS.openFds);
    rss.collect(() => [{ labels: {}, value: process.memoryUsage.rss() }]);
    fds.collect(() => {
      const n = openFds();
      return n === undefined ? [] : [{ labels: {}, value: n }];
    });
    if (!sources) return;
    running.collect(() => {
      const counts = new Map<string, { kernelspec: string; namespace: string; n: number }>();
      for (const k of sources.kernels()) {
        const key = `${k.kernelspec}\u0000${k.namespace}`;
        const c = counts.get(key);
        if (c) c.n++;
        else counts.set(key, { ...k, n: 1 });
      }
      return [...counts.values()].map((c) => ({ labels: { kernelspec: c.kernelspec, namespace: c.namespace }, value: c.n }));
    });
    pending.collect(() => [{ labels: {}, value: sources.pendingKernels() }]);
    websockets.collect(() => [{ labels: {}, value: sources.webSockets() }]);
    reconnects.collect(() => [{ labels: {}, value: sources.watchReconnects() }]);
    reachable.collect(() => [{ labels: {}, value: sources.api().reachable ? 1 : 0 }]);
    outages.collect(() => [{ labels: {}, value: sources.api().outages }]);
  }

  launch(kernelspec: string, result: Result, code: string, seconds: number): void {
    this.launches.inc({ kernelspec, result, code });
    this.launchDuration.observe({ kernelspec, result }, seconds);
  }

  restart(kernelspec: string, result: Result): void {
    this.restarts.inc({ kernelspec, result });
  }

  interrupt(kernelspec: string, result: Result): void {
    this.interrupts.inc({ kernelspec, result });
  }

  shutdown(kernelspec: string, result: Result): void {
    this.shutdowns.inc({ kernelspec, result });
  }

  culled(kernelspec: string): void {
    this.culls.inc({ kernelspec });
  }

  relayed(channel: string, direction: 'to_kernel' | 'to_client'): void {
    this.messages.inc({ channel, direction });
  }

  kubeRequest(verb: string, resource: string, status: number): void {
    this.kubeRequests.inc({ verb, resource, code: String(status) });
  }

  expose(): string {
    return this.registry.expose();
  }
}

/** The README's metrics table, from `METRICS` (a unit test keeps the README equal to it). */
export function metricsTable(): string {
  const rows = Object.values(METRICS).map((m) => `| \`${m.name}\` | ${m.type} | ${m.labels.map((l) => `\`${l}\``).join(', ') || '—'} | ${m.help} |`);
  return ['| metric | type | labels | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
