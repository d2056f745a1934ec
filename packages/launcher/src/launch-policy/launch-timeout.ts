import { ConfigError, DEFAULT_LAUNCH_TIMEOUT, type ValueSource } from '@gp/core';

/** Upper bound of a per-kernel KERNEL_LAUNCH_TIMEOUT when the administrator sets none (seconds). */
export const DEFAULT_MAX_LAUNCH_TIMEOUT = 600;
/** The reference's default launch_timeout (seconds): the contract's, in `@gp/core`. */
export { DEFAULT_LAUNCH_TIMEOUT };

export interface LaunchTimeoutInput {
  /** The configured `launch_timeout` in seconds (kernelspec / GP_LAUNCH_TIMEOUT); default 30. */
  configured?: number;
  /** Where `configured` came from, for error messages. */
  configuredSource?: ValueSource;
  /** The per-kernel `KERNEL_LAUNCH_TIMEOUT` from the request, as sent (string or number); empty = unset. */
  requested?: string | number | null;
  /** The administrator's ceiling for requests, in seconds; default 600 (or `configured` if larger). */
  adminMaximum?: number;
}

export interface LaunchTimeout {
  seconds: number;
  ms: number;
  /** `request` when KERNEL_LAUNCH_TIMEOUT was honoured. */
  source: 'configured' | 'request';
  /** True when the request asked for more than the maximum and got the maximum. */
  clamped: boolean;
  /** The ceiling that applied to the request. */
  maximum: number;
}

function positiveInteger(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 ? v : undefined;
  if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) {
    const n = Number(v.trim());
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  }
  return undefined;
}

/**
 * The launch timeout of one kernel. A request's `KERNEL_LAUNCH_TIMEOUT` (which the reference ignores)
 * is honoured up to the administrator's maximum; more is clamped to the maximum (`clamped: true`, for
 * the host to log). A request value that is not a positive whole number of seconds is a ConfigError.
 * The maximum never lowers the configured value: it is `max(adminMaximum, configured)`.
 */
export function resolveLaunchTimeout(input: LaunchTimeoutInput = {}): LaunchTimeout {
  const configured = input.configured ?? DEFAULT_LAUNCH_TIMEOUT;
  if (positiveInteger(configured) === undefined) {
    throw new ConfigError('launch_timeout', input.configuredSource ?? { kind: 'default' }, configured, 'a positive whole number of seconds');
  }
  const adminMaximum = input.adminMaximum ?? DEFAULT_MAX_LAUNCH_TIMEOUT;
  if (positiveInteger(adminMaximum) === undefined) {
    throw new ConfigError('max_launch_timeout', { kind: 'default' }, adminMaximum, 'a positive whole number of seconds');
  }
  const maximum = Math.max(adminMaximum, configured);
  const raw = input.requested;
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
    return { seconds: configured, ms: configured * 1000, source: 'configured', clamped: false, maximum };
  }
  const requested = positiveInteger(raw);
  if (requested === undefined) {
    throw new ConfigError(
      'KERNEL_LAUNCH_TIMEOUT',
      { kind: 'request', name: 'KERNEL_LAUNCH_TIMEOUT' },
      raw,
      `a positive whole number of seconds, at most ${maximum}`,
    );
  }
  const seconds = Math.min(requested, maximum);
  return { seconds, ms: seconds * 1000, source: 'request', clamped: requested > maximum, maximum };
}
