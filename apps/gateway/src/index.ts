// @gp/gateway: a Jupyter kernel gateway serving kernels as Kubernetes pods. See README.md.
export { startGateway, ListenError, type RunningGateway, type GatewayHandle, type CloseOptions } from './gateway.js';
export { TokenConfigError } from './token.js';
export {
  gatewayOptionTable,
  resolveGatewaySettings,
  settingsFromOptions,
  ADMIN_ONLY_ENV,
  DEFAULT_ALLOWED_ENV,
  type GatewayOptions,
  type GatewaySettings,
} from './options.js';
export { settingsFromCommandLine, parseArgs, helpText } from './cli.js';
export { checkKernelEnv, isEnvAllowed, parseStartKernelBody, screenKernelEnv, BadRequestError } from './policy.js';
export { KernelLimitError, type KernelLimitSettings } from './limits.js';
export { ClientCertificateError, TlsConfigError } from './tls.js';
export { kernelsToCull, type CullPolicy, type CullCandidate } from './culling.js';
export { FileKernelStore, MemoryKernelStore, KernelStoreError, type KernelRecord, type KernelStore } from './store.js';
export { KernelSpecCatalog, defaultKernelspecDirs, NotFoundError, type KernelSpecEntry } from './kernelspecs.js';
export { matchRoute, type Route } from './router.js';
export type { KernelModel, KernelManager, ReattachResult } from './kernels.js';
export { KubernetesApiHealth, type KubernetesApiStatus } from './api-health.js';
export { GatewayMetrics, METRICS, metricsTable, LAUNCH_BUCKETS, type MetricsSink } from './metrics/gateway-metrics.js';
