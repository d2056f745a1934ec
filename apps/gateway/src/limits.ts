/**
 * Kernel limits, as Enterprise Gateway's `max_kernels` and `max_kernels_per_user`: checked before anything is
 * created, counting launches in flight, so a burst of concurrent POSTs cannot overshoot. Counted per gateway
 * process (state shared across replicas is issue #17).
 */
import { AuthorizationError, usernameKey } from '@gp/core';

export interface KernelLimitSettings {
  /** Kernels in total (running, launching, recorded awaiting re-attachment); 0 = no limit. */
  maxKernels: number;
  /** Kernels per KERNEL_USERNAME (compared as the user lists: NFKC, case-insensitive); 0 = no limit. */
  maxKernelsPerUser: number;
}

/** A launch refused by --max-kernels or --max-kernels-per-user: HTTP 403, code GP_KERNEL_LIMIT_REACHED. */
export class KernelLimitError extends AuthorizationError {
  constructor(limit: 'max_kernels' | 'max_kernels_per_user', max: number, user?: string) {
    const flag = limit === 'max_kernels' ? '--max-kernels' : '--max-kernels-per-user';
    const who = limit === 'max_kernels' ? 'The gateway has' : user ? `User ${JSON.stringify(user)} has` : 'Kernels without a KERNEL_USERNAME (one anonymous user) have';
    super(
      'GP_KERNEL_LIMIT_REACHED',
      `${who} ${max} kernel${max === 1 ? '' : 's'} running or starting, the limit (${flag}=${max}); shut one down first, or an operator can raise ${flag}.`,
      { details: { limit, option: flag, max, ...(user === undefined ? {} : { user }) } },
    );
  }
}

/** The user a kernel counts for: its KERNEL_USERNAME under the user lists' rule; '' for none. */
export function kernelUserKey(env: Readonly<Record<string, string>>): string {
  return usernameKey(env.KERNEL_USERNAME ?? '');
}

/**
 * Throws `KernelLimitError` when one more kernel for `env`'s user would pass a limit. `existing` are the envs
 * of every kernel counted (running, launching, pending re-attachment).
 */
export function checkKernelLimits(limits: KernelLimitSettings, existing: Iterable<Readonly<Record<string, string>>>, env: Readonly<Record<string, string>>): void {
  if (limits.maxKernels <= 0 && limits.maxKernelsPerUser <= 0) return;
  const user = kernelUserKey(env);
  let total = 0;
  let mine = 0;
  for (const other of existing) {
    total += 1;
    if (kernelUserKey(other) === user) mine += 1;
  }
  if (limits.maxKernels > 0 && total >= limits.maxKernels) throw new KernelLimitError('max_kernels', limits.maxKernels);
  if (limits.maxKernelsPerUser > 0 && mine >= limits.maxKernelsPerUser) throw new KernelLimitError('max_kernels_per_user', limits.maxKernelsPerUser, env.KERNEL_USERNAME ?? '');
}
