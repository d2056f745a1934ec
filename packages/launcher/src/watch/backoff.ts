/** Exponential backoff with jitter, and an abortable sleep. */

export interface BackoffOptions {
  /** Delay before the first retry, in ms (default 500). */
  initialMs?: number;
  /** Upper bound of any delay, in ms (default 30 000). */
  maxMs?: number;
  /** Growth factor per failed attempt (default 2). */
  factor?: number;
  /**
   * Fraction of the delay that is randomized (default 0.5): the delay is drawn uniformly from
   * `[base * (1 - jitter), base]`, so many watches failing together do not retry together.
   */
  jitter?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.5 };

/** The delay before retry number `attempt` (0-based), never above `maxMs`. `random` returns [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const o = { ...DEFAULT_BACKOFF, ...options };
  const exp = Math.min(Math.max(0, attempt), 64);
  const base = Math.min(o.maxMs, o.initialMs * Math.pow(o.factor, exp));
  const jitter = Math.min(1, Math.max(0, o.jitter));
  return Math.round(base * (1 - jitter * random()));
}

/** Resolves after `ms`, or early (without error) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
