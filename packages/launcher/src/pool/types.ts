/** What the provisioner asks of a warm pool (README.md): a waiting pod matching this launch, claimed for it. */
import type { Logger, ResponseRegistration } from '@gp/core';
import type { ResolvedLaunch } from '../inputs.js';
import type { KernelResourcesHandle } from '../launch.js';

export interface PoolClaimRequest {
  kernelId: string;
  /** The launch as resolved for this kernel (its pod env decides whether a pooled pod matches). */
  resolved: ResolvedLaunch;
  /** Where the claimed pod sends its connection information (this kernel's registration and key). */
  registration: ResponseRegistration;
  logger: Logger;
}

export interface PooledPodSource {
  /**
   * Claims a waiting pod that matches the launch exactly and returns the kernel's handle (naming that pod), or
   * `undefined` when none matches, none is waiting, or the claim failed: the caller then launches cold. Never throws.
   */
  claim(request: PoolClaimRequest): Promise<KernelResourcesHandle | undefined>;
}
