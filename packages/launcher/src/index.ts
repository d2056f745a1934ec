// @gp/launcher: creating a kernel's Kubernetes resources, and following kernels through their life.
// The public surface, by concept. Every name here is imported by another package or app of this repo or
// documented in a README of this package; anything else stays internal (import it from its module in tests).

// Host-side provisioners (see ./provisioner/README.md): what Jupyter's kernel manager drives.
export {
  createProvisioner,
  KubernetesProvisioner,
  KubernetesProvisionerBase,
  LauncherProcessError,
  SIGINT,
  SIGKILL,
  SparkOperatorProvisioner,
  type LaunchKernelOptions,
  type PreLaunchOptions,
  type PreparedLaunch,
  type ProvisionerOptions,
  type SparkOperatorProvisionerOptions,
  type TerminateOptions,
} from './provisioner/provisioner.js';
export { provisionerConfig, type GpLauncherInvocation, type GpLauncherKind, type KernelSpecLike, type ProvisionerConfig } from './provisioner/kernelspec.js';
export type { CustomResourceRef, ProvisionerInfo } from './provisioner/info.js';

// Warm pools of kernel pods (see ./pool/README.md).
export { KernelPool, PoolConfigError, POOL_LABEL, POOL_STATE_LABEL, type KernelPoolOptions, type PoolStats } from './pool/pool.js';
export { claimMac, PoolClaimError, probeClaimPort, sendClaim, type ClaimBody, type ClaimTarget } from './pool/claim.js';
export { matchProfile, profileKey, PER_KERNEL_ENV } from './pool/match.js';
export type { PoolClaimRequest, PooledPodSource } from './pool/types.js';

// Host settings (GP_* environment variables) and launch requests (KERNEL_* variables).
export { HOST_OPTIONS, readHostSettings, type Env, type HostSettings, type KernelSpecSetting, type PortRange } from './env.js';
export {
  authorize,
  resolveLaunch,
  type KernelResources,
  type LaunchArgs,
  type LaunchRequest,
  type NamespaceMode,
  type ResolvedLaunch,
} from './inputs.js';
export { checkClientSparkOpts, SparkOptionsError } from './spark-opts.js';
export { sparkSubmitOptions } from './spark.js';

// Creating and deleting a kernel's resources (pod or custom resource, namespace, bindings).
export {
  deleteKernelResources,
  launchKernelResources,
  planKernelResources,
  type DeleteOptions,
  type KernelPlan,
  type KernelResourcesHandle,
  type LaunchOptions,
  type LaunchResult,
} from './launch.js';
export {
  launchCustomResource,
  planCustomResource,
  SPARK_APPLICATION,
  type CustomResourceLaunchOptions,
  type CustomResourcePlan,
  type CustomResourceType,
} from './crd.js';
export { checkDocuments, preparePod, type Manifest, type OwnerReference } from './manifests.js';
export type { TemplateSource } from './render.js';
// Name rules and quantities are the kernel contract's: import them from @gp/core.

// Errors of the Kubernetes side.
export {
  CustomResourceNotInstalledError,
  KubernetesApiError,
  kubernetesError,
  ManifestError,
  type K8sVerb,
  type ObjectRef,
} from './errors.js';

// The Kubernetes client and its request observer.
export { createKubeClient, loadKubeConfig, type KubeClient, type KubeRequest } from './kube.js';
export { observeKubeRequests, type KubeRequestEvent, type KubeRequestObserver, type KubeVerb } from './kube-observer.js';

// Readiness without polling (see ./watch/README.md): shared watches, classification, fail-fast launch errors,
// progress and the launch timeout.
export { KernelWatcher, waitForKernelPod } from './watch/kernel-watcher.js';
export type {
  KernelPlacement,
  KernelStatus,
  KernelWatcherOptions,
  LaunchPhase,
  SparkApplicationRef,
  WaitForKernelPodOptions,
  WaitOptions,
} from './watch/kernel-watcher.js';
export { WatchHub, type HubWatchStats, type WatchHubOptions, type WatchLease, type WatchSpec } from './watch/hub.js';
export {
  ResourceWatch,
  type ResourceRef,
  type ResourceWatchOptions,
  type WatchCounters,
  type WatchListener,
  type WatchNotification,
  type WatchState,
} from './watch/resource-watch.js';
export { kubeConfigTransport, type KubeTransport, type ListPage, type QueryParams, type RawWatchEvent } from './watch/transport.js';
export { kubeConfigIdentity } from './watch/identity.js';
export type { BackoffOptions } from './watch/backoff.js';
export {
  classifyPod,
  classifySparkApplication,
  type Classification,
  type ClassifyPodOptions,
  type FailureKind,
  type KernelState,
  type PodClassification,
  type SparkApplicationClassification,
} from './watch/classify.js';
export type {
  ContainerStateLike,
  ContainerStatusLike,
  EventLike,
  KubeObject,
  ObjectMetaLike,
  PodConditionLike,
  PodLike,
  SparkApplicationLike,
  Timestamp,
} from './watch/types.js';
export {
  isKernelLaunchError,
  KernelLaunchError,
  KubeApiError,
  WatchInactivityError,
  type EventSummary,
  type KernelLaunchCode,
  type KernelLaunchFailure,
} from './watch/errors.js';
export {
  LaunchProgress,
  type LaunchMilestone,
  type LaunchProgressEvent,
  type LaunchProgressListener,
  type LaunchProgressType,
} from './launch-policy/progress.js';
export { resolveLaunchTimeout, type LaunchTimeout, type LaunchTimeoutInput } from './launch-policy/launch-timeout.js';
