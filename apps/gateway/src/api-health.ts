/**
 * Whether the Kubernetes API server answers: a periodic probe of its `/readyz` (plus what other calls
 * report), logged once per transition (never per request), read by the gateway's `/readyz` and exposed as
 * a small status object a later `/metrics` can export.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { Logger } from '@gp/core';
import type { KubeConfig } from '@kubernetes/client-node';

/** What `/metrics` (later) and the logs read: plain data, safe to serialize (no credentials). */
export interface KubernetesApiStatus {
  /** The API server's URL (no credentials). */
  server: string;
  reachable: boolean;
  /** ISO time of the last transition (or of the first check). */
  since: string;
  /** Why the last failed check failed (while unreachable). */
  lastError?: string;
  checks: number;
  failedChecks: number;
  /** Times it became unreachable. */
  outages: number;
}

export type ApiProbe = () => Promise<void>;

const PROBE_TIMEOUT_MS = 5000;

/** A GET of the API server's `/readyz` as the gateway's identity; rejects unless it answers below 500 (and not 429). */
export function readyzProbe(kc: KubeConfig, timeoutMs = PROBE_TIMEOUT_MS): ApiProbe {
  return async () => {
    const server = (kc.getCurrentCluster()?.server ?? '').replace(/\/+$/, '');
    const url = new URL(`${server}/readyz`);
    const opts: RequestOptions = { method: 'GET', headers: {} };
    await kc.applyToHTTPSOptions(opts);
    await new Promise<void>((resolve, reject) => {
      const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
      const req = send(url, { ...opts, timeout: timeoutMs }, (res) => {
        res.resume();
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          // Any answer but a server error or throttling means the API serves (401/403: it answers, RBAC differs).
          if (status >= 500 || status === 429) reject(new Error(`/readyz answered HTTP ${status}`));
          else resolve();
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end();
    });
  };
}

function describe(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

export class KubernetesApiHealth {
  private state: KubernetesApiStatus;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<boolean> | undefined;
  private readonly listeners = new Set<(reachable: boolean) => void>();

  constructor(
    server: string,
    private readonly probe: ApiProbe,
    private readonly log: Logger,
  ) {
    this.state = { server, reachable: true, since: new Date().toISOString(), checks: 0, failedChecks: 0, outages: 0 };
  }

  get reachable(): boolean {
    return this.state.reachable;
  }

  status(): KubernetesApiStatus {
    return { ...this.state };
  }

  /** Called with the new state on every transition. Returns the unsubscribe function. */
  onChange(listener: (reachable: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One probe now (concurrent callers share it); resolves with the resulting state. */
  check(): Promise<boolean> {
    this.checking ??= this.probe()
      .then(
        () => this.report(true),
        (e: unknown) => this.report(false, e),
      )
      .then(() => this.state.reachable)
      .finally(() => {
        this.checking = undefined;
      });
    return this.checking;
  }

  /** Probes every `intervalMs` (0: never). */
  start(intervalMs: number): void {
    this.stop();
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Records an outcome (a probe's, or another call's); logs and notifies on a transition only. */
  report(ok: boolean, error?: unknown): void {
    const s = this.state;
    s.checks++;
    if (!ok) {
      s.failedChecks++;
      s.lastError = describe(error);
    }
    if (ok === s.reachable) return;
    const now = new Date();
    const downSeconds = (now.getTime() - Date.parse(s.since)) / 1000;
    s.reachable = ok;
    s.since = now.toISOString();
    if (ok) {
      this.log.info('The Kubernetes API server is reachable again.', { server: s.server, unreachable_seconds: Math.round(downSeconds) });
      delete s.lastError;
    } else {
      s.outages++;
      this.log.error('The Kubernetes API server is unreachable: launches, shutdowns and re-attachment wait for it; the gateway reports not ready.', {
        server: s.server,
        error: s.lastError,
      });
    }
    for (const listener of this.listeners) {
      try {
        listener(ok);
      } catch (e) {
        this.log.warn('An API health listener threw.', { error: e });
      }
    }
  }
}
