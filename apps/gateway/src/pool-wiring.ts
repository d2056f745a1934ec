/** Starting and stopping the gateway's warm pools (kept out of gateway.ts: a few hook lines there). */
import { GpError, type Logger } from '@gp/core';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KernelSpecCatalog } from './kernelspecs.js';
import type { GatewaySettings } from './options.js';
import { GatewayPools } from './pools.js';

export type { GatewayPools };

export function createPools(
  settings: Pick<GatewaySettings, 'kernel_pools' | 'kernel_pool_max_age'>,
  o: { specs: KernelSpecCatalog; kubeConfig: KubeConfig; hostEnv: Readonly<Record<string, string | undefined>>; logger: Logger; hasRoom: () => boolean },
): GatewayPools {
  return new GatewayPools({ entries: settings.kernel_pools, maxAgeSeconds: settings.kernel_pool_max_age, ...o, logger: o.logger.child({ component: 'pool' }) });
}

const RETRY_MS = 10_000;

/** Only the Kubernetes API failing is worth a retry; a refused profile or a bad kernelspec stays refused. */
function retryable(e: unknown): boolean {
  if (!(e instanceof GpError)) return true;
  return e.code.startsWith('GP_K8S_') || e.code === 'GP_KUBERNETES_UNREACHABLE' || e.httpStatus >= 502;
}

/** Starts the pools, retrying every 10 s while that fails (the Kubernetes API down); `cancel()` stops retrying. */
export function startPools(pools: GatewayPools, logger: Logger): { cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const attempt = (): void => {
    pools.start().then(
      () => logger.info('Warm pools started.'),
      (e: unknown) => {
        if (cancelled) return;
        if (!retryable(e)) {
          logger.error('The warm pools cannot start: fix --kernel-pools (or the kernelspec) and restart the gateway; kernels launch cold meanwhile.', { error: e });
          return;
        }
        logger.error('Starting the warm pools failed; retrying.', { error: e, retry_seconds: RETRY_MS / 1000 });
        timer = setTimeout(attempt, RETRY_MS);
        timer.unref();
      },
    );
  };
  attempt();
  return {
    cancel: () => {
      cancelled = true;
      if (timer) clearTimeout(timer);
    },
  };
}
