/**
 * The host settings the launcher reads from its environment (`GP_*`). They resolve through `@gp/core`'s option
 * machinery (`resolveConfig`): the provisioner settings the spec CLI also knows (user lists, port range, launch
 * timeout, images) use core's shared definitions, so `k8s-spec install` and the launcher read a variable the
 * same way; the launcher-only settings are defined here with core's validators. Every value fails closed: one
 * that cannot be read is a ConfigError naming the variable, never silently the default. An empty variable
 * counts as unset (core's rule), so `GP_UNAUTHORIZED_USERS=""` keeps refusing `root`.
 */
import {
  ConfigError,
  DEFAULT_APP_NAME,
  DEFAULT_KERNEL_CLUSTER_ROLE,
  DEFAULT_KERNEL_SERVICE_ACCOUNT,
  DEFAULT_NAMESPACE,
  isLabelValue,
  LABEL_VALUE_RULE,
  parseNumericId,
  authorizedUsersOption,
  defineOption,
  defineOptions,
  executorImageNameOption,
  imageNameOption,
  launchTimeoutOption,
  minPortRangeSize,
  portRangeOption,
  resolveConfig,
  splitCommaList,
  unauthorizedUsersOption,
  type OptionKind,
  type ParseContext,
  type PortRange,
} from '@gp/core';

export type Env = Record<string, string | undefined>;
export type { PortRange };


/** A list of numeric ids, e.g. GP_PROHIBITED_UIDS=0,65534. Any unreadable entry refuses the whole list (fail closed). */
export function parseIdList(name: string, value: string | undefined, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  return splitCommaList(value).map((entry) => {
    try {
      return parseNumericId(entry, name, { kind: 'env', name });
    } catch {
      throw new ConfigError(name, { kind: 'env', name }, value, 'a comma-separated list of numeric ids, e.g. "0,65534"');
    }
  });
}

/** The section of the launcher-only host settings (the reference's KubernetesProvisioner module globals). */
const HOST_SECTION = 'KubernetesProvisioner';

/** A name-like setting: trimmed, not blank. */
function parseName(raw: unknown, ctx: ParseContext): string {
  const name = typeof raw === 'string' ? raw.trim() : '';
  if (name === '') throw new ConfigError(ctx.option, ctx.source, raw, 'a non-empty name');
  return name;
}

function parseAppName(raw: unknown, ctx: ParseContext): string {
  const name = parseName(raw, ctx);
  if (!isLabelValue(name)) {
    throw new ConfigError(ctx.option, ctx.source, raw, LABEL_VALUE_RULE);
  }
  return name;
}

function parseIds(raw: unknown, ctx: ParseContext): number[] {
  const variable = ctx.source.kind === 'env' ? ctx.source.name : ctx.option;
  return parseIdList(variable, typeof raw === 'string' ? raw : String(raw), []);
}

/** A launcher-only host setting: one env var, no command-line flag; messages name the variable. */
function hostOption<T>(env: string, kind: OptionKind, fallback: T, help: string, parse?: (raw: unknown, ctx: ParseContext) => T) {
  return defineOption<T>({
    name: env.replace(/^GP_/, '').toLowerCase(),
    kind,
    section: HOST_SECTION,
    help,
    default: fallback,
    env,
    flag: false,
    ...(parse ? { parse } : {}),
  });
}

/**
 * The launch timeout as the host env gives it: core's definition (`GP_LAUNCH_TIMEOUT`, then the host's
 * `KERNEL_LAUNCH_TIMEOUT`), and last the `GP_KERNEL_LAUNCH_TIMEOUT` that the reference's Helm chart and env docs
 * set but its code never reads (facts §6.2): gp honours it rather than silently ignoring it.
 */
export const HELM_LAUNCH_TIMEOUT_ENV = 'GP_KERNEL_LAUNCH_TIMEOUT';
const hostLaunchTimeoutOption = Object.freeze({ ...launchTimeoutOption, env: [...launchTimeoutOption.env, HELM_LAUNCH_TIMEOUT_ENV] });

/** Every host setting, by option name. */
export const HOST_OPTIONS = defineOptions({
  shared_namespace: hostOption('GP_SHARED_NAMESPACE', 'bool', true, 'Launch every kernel in GP_NAMESPACE (true) or in its own namespace (false).'),
  namespace: hostOption('GP_NAMESPACE', 'string', DEFAULT_NAMESPACE, 'The shared namespace.', parseName),
  allow_client_namespace: hostOption('GP_ALLOW_CLIENT_NAMESPACE', 'bool', false, 'In shared mode, let a request name another namespace (KERNEL_NAMESPACE).'),
  kernel_cluster_role: hostOption('GP_KERNEL_CLUSTER_ROLE', 'string', DEFAULT_KERNEL_CLUSTER_ROLE, 'The ClusterRole bound to the kernel in automatic namespaces.', parseName),
  default_kernel_service_account_name: hostOption('GP_DEFAULT_KERNEL_SERVICE_ACCOUNT_NAME', 'string', DEFAULT_KERNEL_SERVICE_ACCOUNT, "The kernel's service account in shared mode.", parseName),
  app_name: hostOption('GP_APP_NAME', 'string', DEFAULT_APP_NAME, 'The app label of created namespaces and their objects.', parseAppName),
  prohibited_uids: hostOption<number[]>('GP_PROHIBITED_UIDS', 'list', [0], 'User ids a kernel may not run as.', parseIds),
  prohibited_gids: hostOption<number[]>('GP_PROHIBITED_GIDS', 'list', [0], 'Group ids a kernel may not run as.', parseIds),
  mirror_working_dirs: hostOption('GP_MIRROR_WORKING_DIRS', 'bool', false, 'Honour KERNEL_WORKING_DIR.'),
  allow_host_path_volumes: hostOption('GP_ALLOW_HOST_PATH_VOLUMES', 'bool', false, 'Allow hostPath volumes in KERNEL_VOLUMES.'),
  authorized_users: authorizedUsersOption,
  unauthorized_users: unauthorizedUsersOption,
  port_range: portRangeOption,
  launch_timeout: hostLaunchTimeoutOption,
  image_name: imageNameOption,
  executor_image_name: executorImageNameOption,
});

/** The settings a kernelspec's `metadata.kernel_provisioner.config` can also give (and then wins, as the reference). */
export const KERNELSPEC_SETTINGS = ['image_name', 'executor_image_name', 'launch_timeout', 'port_range', 'authorized_users', 'unauthorized_users'] as const;
export type KernelSpecSetting = (typeof KERNELSPEC_SETTINGS)[number];

/** The host's settings, as `GP_*` environment variables give them (see README "Environment"). */
export interface HostSettings {
  /** GP_SHARED_NAMESPACE (default true). */
  sharedNamespace: boolean;
  /** GP_NAMESPACE (default "default"). */
  namespace: string;
  /** GP_ALLOW_CLIENT_NAMESPACE (default false): in shared mode, whether a request may name another namespace. */
  allowClientNamespace: boolean;
  /** GP_KERNEL_CLUSTER_ROLE (default "kernel-controller"): bound in automatic namespaces. */
  kernelClusterRole: string;
  /** GP_DEFAULT_KERNEL_SERVICE_ACCOUNT_NAME (default "default"): the kernel's SA in shared mode. */
  defaultServiceAccountName: string;
  /** GP_APP_NAME (default "gateway-provisioners"): the `app` label of created namespaces and bindings. */
  appName: string;
  /** GP_AUTHORIZED_USERS: when non-empty, only these usernames may launch. */
  authorizedUsers: string[];
  /** GP_UNAUTHORIZED_USERS (default "root"; empty counts as unset): these usernames may never launch. */
  unauthorizedUsers: string[];
  /**
   * Where each user list came from, for refusal messages: the host variable (the default), or the
   * kernelspec setting that replaced it.
   */
  userListSources?: { authorizedUsers: string; unauthorizedUsers: string };
  /** GP_PROHIBITED_UIDS / GP_PROHIBITED_GIDS (default 0). */
  prohibitedUids: number[];
  prohibitedGids: number[];
  /** GP_MIRROR_WORKING_DIRS (default false): honour KERNEL_WORKING_DIR. */
  mirrorWorkingDirs: boolean;
  /** GP_ALLOW_HOST_PATH_VOLUMES (default false): allow hostPath volumes in KERNEL_VOLUMES. */
  allowHostPathVolumes: boolean;
  /** GP_IMAGE_NAME / GP_EXECUTOR_IMAGE_NAME: used when the launch env has no KERNEL_IMAGE / KERNEL_EXECUTOR_IMAGE. */
  imageName?: string;
  executorImageName?: string;
  /** GP_PORT_RANGE (default 0..0: no range), at least `minPortRangeSize` ports wide. */
  portRange: PortRange;
  /** GP_MIN_PORT_RANGE_SIZE (default 1000): the smallest enabled port range, host's or kernelspec's. */
  minPortRangeSize: number;
  /** GP_LAUNCH_TIMEOUT, else the host's KERNEL_LAUNCH_TIMEOUT, else GP_KERNEL_LAUNCH_TIMEOUT; default 30 seconds. */
  launchTimeout: number;
  /** The env var that set each kernelspec-overridable setting; absent when the setting kept its default. */
  setBy: Partial<Record<KernelSpecSetting, string>>;
}

export function readHostSettings(env: Env): HostSettings {
  const { values: v, sources } = resolveConfig(HOST_OPTIONS, { env });
  const setBy: Partial<Record<KernelSpecSetting, string>> = {};
  for (const name of KERNELSPEC_SETTINGS) {
    const source = sources[name];
    if (source.kind === 'env') setBy[name] = source.name;
  }
  const settings: HostSettings = {
    sharedNamespace: v.shared_namespace,
    namespace: v.namespace,
    allowClientNamespace: v.allow_client_namespace,
    kernelClusterRole: v.kernel_cluster_role,
    defaultServiceAccountName: v.default_kernel_service_account_name,
    appName: v.app_name,
    authorizedUsers: v.authorized_users,
    unauthorizedUsers: v.unauthorized_users,
    prohibitedUids: v.prohibited_uids,
    prohibitedGids: v.prohibited_gids,
    mirrorWorkingDirs: v.mirror_working_dirs,
    allowHostPathVolumes: v.allow_host_path_volumes,
    portRange: v.port_range,
    minPortRangeSize: minPortRangeSize(env),
    launchTimeout: v.launch_timeout,
    setBy,
  };
  if (v.image_name !== undefined) settings.imageName = v.image_name;
  if (v.executor_image_name !== undefined) settings.executorImageName = v.executor_image_name;
  return settings;
}
