// Readiness without polling: shared watches, classification, fail-fast launch errors, progress.
// `packages/launcher/src/index.ts` re-exports this module (`export * from './watch/index.js'`).
export * from './types.js';
export * from './classify.js';
export * from './errors.js';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { kubeConfigTransport, apiErrorFromBody, type KubeTransport, type ListPage, type QueryParams, type RawWatchEvent } from './transport.js';
export * from './resource-watch.js';
export * from './hub.js';
export * from './progress.js';
export * from './launch-timeout.js';
export * from './kernel-watcher.js';
