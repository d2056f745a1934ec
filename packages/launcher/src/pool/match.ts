/**
 * Which requests a pooled pod may serve (README.md, "Only a matching pod"): exactly those whose resolved pod
 * environment equals the one the pod was made with, minus the per-kernel variables. Pure.
 */
import type { ResolvedLaunch } from '../inputs.js';
import { kernelResourceName } from '@gp/core';

/** Variables that differ between any two kernels of the same profile: never part of the match. */
export const PER_KERNEL_ENV: readonly string[] = ['KERNEL_ID', 'KERNEL_POD_NAME', 'RESPONSE_ADDRESS', 'PUBLIC_KEY', 'GP_RESPONSE_VERSIONS', 'KERNEL_LAUNCH_TIMEOUT'];

/** Why a launch cannot use any pool, or undefined when it may (if a pool of its profile has a pod waiting). */
export function unpoolableReason(r: ResolvedLaunch): string | undefined {
  if (r.namespaceMode === 'auto') return 'automatic namespace mode (a namespace per kernel)';
  if (r.podName !== kernelResourceName(r.username, r.kernelId)) return 'a client-chosen KERNEL_POD_NAME';
  return undefined;
}

/**
 * The profile of a launch: everything its pod is made from that is not per-kernel (namespace, mode, service
 * account, every other pod env variable: user, UID/GID, image, resources, volumes...), as one canonical string.
 * Two launches with equal profiles render equal pods up to names.
 */
export function profileKey(r: ResolvedLaunch): string {
  const env = Object.entries(r.podEnv)
    .filter(([k]) => !PER_KERNEL_ENV.includes(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify({ namespace: r.namespace, mode: r.namespaceMode, serviceAccount: r.serviceAccountName, workingDir: r.workingDir ?? null, env });
}

/** Whether a pod made for `pool` may serve `request`; the reason when not. */
export function matchProfile(poolKey: string, request: ResolvedLaunch): { ok: true } | { ok: false; reason: string } {
  const reason = unpoolableReason(request);
  if (reason) return { ok: false, reason };
  if (profileKey(request) !== poolKey) return { ok: false, reason: 'the request differs from the pool profile (user, ids, namespace, image, resources, volumes or env)' };
  return { ok: true };
}
