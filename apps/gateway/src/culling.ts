/** Idle culling as Jupyter Server's MappingKernelManager does it, as a pure decision. */

export interface CullPolicy {
  /** Seconds; 0 disables culling. */
  idleTimeoutSeconds: number;
  cullConnected: boolean;
  cullBusy: boolean;
}

export interface CullCandidate {
  id: string;
  lastActivity: Date;
  executionState: string;
  connections: number;
}

/** The kernels to shut down now: idle past the timeout, unless connected or busy (when those are protected). */
export function kernelsToCull(kernels: readonly CullCandidate[], policy: CullPolicy, now: Date): string[] {
  if (policy.idleTimeoutSeconds <= 0) return [];
  const limitMs = policy.idleTimeoutSeconds * 1000;
  return kernels
    .filter((k) => {
      if (k.connections > 0 && !policy.cullConnected) return false;
      if (k.executionState === 'busy' && !policy.cullBusy) return false;
      return now.getTime() - k.lastActivity.getTime() > limitMs;
    })
    .map((k) => k.id);
}
