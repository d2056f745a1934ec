/**
 * The host settings the launcher reads from its environment (`GP_*`), in one place so they can move onto
 * `@gp/core`'s option definitions when those land. Every parser fails closed: a value that cannot be read
 * is a ConfigError, never silently the default.
 */
import { isLabelValue } from './names.js';
import { ConfigError, parseBoolean as coreParseBoolean, parsePortRange as coreParsePortRange, parseUserList, type PortRange } from '@gp/core';

export type Env = Record<string, string | undefined>;

/** A boolean env setting (core's words: true/false, yes/no, 1/0, on/off); unset or empty gives the default. */
export function parseBoolean(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value.trim() === '') return fallback;
  return coreParseBoolean(value, name, { kind: 'env', name });
}

/** Comma-separated list (the reference's `GP_AUTHORIZED_USERS` form); blanks dropped. */
export function parseList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

const ID_RE = /^\d{1,10}$/;

/** A numeric user/group id, 0..2147483647. */
export function parseId(name: string, value: string, source: 'env' | 'request' = 'request'): number {
  const v = value.trim();
  const n = ID_RE.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n > 2147483647) {
    throw new ConfigError(name, { kind: source, name }, value, 'a non-negative integer id (0..2147483647)');
  }
  return n;
}

/** A list of numeric ids, e.g. GP_PROHIBITED_UIDS=0,65534. Any unreadable entry refuses the whole list (fail closed). */
export function parseIdList(name: string, value: string | undefined, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  return parseList(value).map((entry) => {
    try {
      return parseId(name, entry, 'env');
    } catch {
      throw new ConfigError(name, { kind: 'env', name }, value, 'a comma-separated list of numeric ids, e.g. "0,65534"');
    }
  });
}

export type { PortRange };

/** `LOWER..UPPER` (size >= 1000) or `0..0`, by core's shared validator. */
export function parsePortRange(value: string, option = '--port-range'): PortRange {
  return coreParsePortRange(value, { option, source: { kind: 'flag', name: option.replace(/^--/, '') } });
}

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
  /** GP_UNAUTHORIZED_USERS (default "root"): these usernames may never launch. */
  unauthorizedUsers: string[];
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
}

export function readHostSettings(env: Env): HostSettings {
  const str = (name: string, fallback: string): string => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? fallback : v.trim();
  };
  const opt = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const settings: HostSettings = {
    sharedNamespace: parseBoolean('GP_SHARED_NAMESPACE', env.GP_SHARED_NAMESPACE, true),
    namespace: str('GP_NAMESPACE', 'default'),
    allowClientNamespace: parseBoolean('GP_ALLOW_CLIENT_NAMESPACE', env.GP_ALLOW_CLIENT_NAMESPACE, false),
    kernelClusterRole: str('GP_KERNEL_CLUSTER_ROLE', 'kernel-controller'),
    defaultServiceAccountName: str('GP_DEFAULT_KERNEL_SERVICE_ACCOUNT_NAME', 'default'),
    appName: str('GP_APP_NAME', 'gateway-provisioners'),
    authorizedUsers: parseUserList(env.GP_AUTHORIZED_USERS ?? '', 'GP_AUTHORIZED_USERS', { kind: 'env', name: 'GP_AUTHORIZED_USERS' }),
    unauthorizedUsers:
      env.GP_UNAUTHORIZED_USERS === undefined
        ? ['root']
        : parseUserList(env.GP_UNAUTHORIZED_USERS, 'GP_UNAUTHORIZED_USERS', { kind: 'env', name: 'GP_UNAUTHORIZED_USERS' }),
    prohibitedUids: parseIdList('GP_PROHIBITED_UIDS', env.GP_PROHIBITED_UIDS, [0]),
    prohibitedGids: parseIdList('GP_PROHIBITED_GIDS', env.GP_PROHIBITED_GIDS, [0]),
    mirrorWorkingDirs: parseBoolean('GP_MIRROR_WORKING_DIRS', env.GP_MIRROR_WORKING_DIRS, false),
    allowHostPathVolumes: parseBoolean('GP_ALLOW_HOST_PATH_VOLUMES', env.GP_ALLOW_HOST_PATH_VOLUMES, false),
  };
  if (!isLabelValue(settings.appName)) {
    throw new ConfigError('GP_APP_NAME', { kind: 'env', name: 'GP_APP_NAME' }, settings.appName, 'a label value: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit');
  }
  const image = opt('GP_IMAGE_NAME');
  const executor = opt('GP_EXECUTOR_IMAGE_NAME');
  if (image) settings.imageName = image;
  if (executor) settings.executorImageName = executor;
  return settings;
}
