/**
 * The kernel contract: default names and values shared by the launcher, the RBAC generator, the spec CLI
 * and the gateway. Each is stated here once.
 */

/** `GP_APP_NAME`: the `app` label of everything gp creates, and the RBAC objects' default name. */
export const DEFAULT_APP_NAME = 'gateway-provisioners';
/** `GP_KERNEL_CLUSTER_ROLE`: the ClusterRole a kernel is bound to in its namespace. */
export const DEFAULT_KERNEL_CLUSTER_ROLE = 'kernel-controller';
/** `GP_NAMESPACE`: the shared namespace, and the application's own. */
export const DEFAULT_NAMESPACE = 'default';
/** `GP_DEFAULT_KERNEL_SERVICE_ACCOUNT_NAME`: the kernel's service account in shared mode. */
export const DEFAULT_KERNEL_SERVICE_ACCOUNT = 'default';
/** The service account created in automatic namespaces when the request names none. */
export const AUTOMATIC_SERVICE_ACCOUNT = 'kernel';
/** `launch_timeout` (kernel.json, `GP_LAUNCH_TIMEOUT`): seconds a launch may take, the reference's default. */
export const DEFAULT_LAUNCH_TIMEOUT = 30;
/** The kernel's numeric user and group ids when the request names none (`KERNEL_UID`, `KERNEL_GID`). */
export const DEFAULT_KERNEL_UID = 1000;
export const DEFAULT_KERNEL_GID = 100;
/** The `component` label of a kernel's pods and objects. */
export const KERNEL_COMPONENT = 'kernel';
