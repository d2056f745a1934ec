import {
  ConfigError,
  DEFAULT_APP_NAME,
  DEFAULT_KERNEL_CLUSTER_ROLE,
  DEFAULT_NAMESPACE,
  isDns1123Label,
  isDns1123Subdomain,
  NAMESPACE_MODE_ALIASES,
  NAMESPACE_MODES,
  namespaceModeOf,
  type NamespaceMode,
  type ValueSource,
} from '@gp/core';
import type { PolicyRule } from './types.js';
import { TEMPLATE_RESOURCES, type TemplateResource } from './rules.js';

/** Options of every builder. All optional; `resolveOptions` fills the defaults and validates. */
export interface RbacOptions {
  /** Application name: labels (`app`) and default object names. `GP_APP_NAME`. Default `gateway-provisioners`. */
  appName?: string;
  /** The application's namespace (`GP_NAMESPACE`), where its ServiceAccount lives. Default `default`. */
  namespace?: string;
  /** The application's ServiceAccount. Default: the app name. */
  serviceAccountName?: string;
  /** Name of the application's Role/ClusterRole and its bindings. Default `<appName>-controller`. */
  applicationRoleName?: string;
  /**
   * Enabled namespace modes. Default `['shared']`. `shared`: kernels in the application's namespace
   * (`GP_SHARED_NAMESPACE=true`). `byo`: kernels in a pre-existing `KERNEL_NAMESPACE`. `auto`: one new
   * namespace per kernel. Aliases `bring-your-own` and `automatic` are accepted.
   */
  modes?: readonly (NamespaceMode | 'bring-your-own' | 'automatic')[];
  /**
   * Bring-your-own only: the namespaces kernels may use. Given, the application gets RoleBindings in just
   * these namespaces instead of cluster-wide pod rights. Not with `auto` (which needs cluster-wide rights).
   */
  byoNamespaces?: readonly string[];
  /** Grant the SparkApplication rules (Spark Operator provisioner). Default false. */
  sparkOperator?: boolean;
  /** The kernel ClusterRole's name (`GP_KERNEL_CLUSTER_ROLE`). Default `kernel-controller`. */
  kernelClusterRole?: string;
  /**
   * A kernel ServiceAccount to create and bind to the kernel role in the application's namespace (`shared`)
   * and in each of `byoNamespaces`. Without it, the kernel role ships only for `auto`, where the launcher
   * creates the service account and RoleBinding in each new namespace.
   */
  kernelServiceAccount?: string;
  /** Extra resources the pod templates declare (opt-in; the shipped template creates only a Pod). */
  templateResources?: readonly TemplateResource[];
  /** Extra rules appended to the application's role (no wildcards). */
  extraRules?: readonly PolicyRule[];
  /**
   * `kubernetes`: gp-gateway keeps kernel records in Secrets and elects a leader with Leases
   * (`--kernel-store kubernetes`, replicas): adds the state Role and its RoleBinding in `namespace`. Default `file`.
   */
  kernelStore?: 'file' | 'kubernetes';
  /** Where the options came from, for error messages (default: the built-in option names). */
  source?: (option: keyof RbacOptions) => ValueSource;
}

/** Options after defaults and validation. */
export interface ResolvedRbacOptions {
  appName: string;
  namespace: string;
  serviceAccountName: string;
  applicationRoleName: string;
  modes: NamespaceMode[];
  byoNamespaces: string[];
  sparkOperator: boolean;
  kernelClusterRole: string;
  kernelServiceAccount: string | undefined;
  templateResources: TemplateResource[];
  extraRules: PolicyRule[];
  kernelStore: 'file' | 'kubernetes';
}

/** The contract's defaults (`@gp/core`), re-exported for this package's users. */
export { DEFAULT_APP_NAME, DEFAULT_KERNEL_CLUSTER_ROLE, isDns1123Label, isDns1123Subdomain };

/** Built-in ClusterRoles an apply must never overwrite. */
const RESERVED_ROLE_NAMES = new Set(['cluster-admin', 'admin', 'edit', 'view']);

const defaultSource = (option: keyof RbacOptions): ValueSource => ({ kind: 'request', name: option });

/** Fills defaults and validates; throws `ConfigError` naming the option, the value and what is valid. */
export function resolveOptions(options: RbacOptions = {}): ResolvedRbacOptions {
  const sourceOf = options.source ?? defaultSource;
  const fail = (option: keyof RbacOptions, value: unknown, expected: string): never => {
    throw new ConfigError(option, sourceOf(option), value, expected);
  };
  const label = (option: keyof RbacOptions, value: unknown): string => {
    if (typeof value !== 'string' || !isDns1123Label(value)) {
      fail(option, value, 'a DNS-1123 label (1-63 characters: lower-case letters, digits, "-"; alphanumeric at both ends)');
    }
    return value as string;
  };
  const subdomain = (option: keyof RbacOptions, value: unknown): string => {
    if (typeof value !== 'string' || !isDns1123Subdomain(value)) {
      fail(option, value, 'a DNS-1123 subdomain (1-253 characters: lower-case letters, digits, "-", "."; alphanumeric at both ends)');
    }
    return value as string;
  };
  const roleName = (option: keyof RbacOptions, value: unknown): string => {
    const name = subdomain(option, value);
    if (RESERVED_ROLE_NAMES.has(name)) {
      fail(option, value, `a dedicated role name, not the built-in ClusterRole "${name}" (e.g. "${DEFAULT_KERNEL_CLUSTER_ROLE}")`);
    }
    return name;
  };

  const appName = label('appName', options.appName ?? DEFAULT_APP_NAME);
  const namespace = label('namespace', options.namespace ?? DEFAULT_NAMESPACE);
  const serviceAccountName = subdomain('serviceAccountName', options.serviceAccountName ?? appName);
  const applicationRoleName = roleName('applicationRoleName', options.applicationRoleName ?? `${appName}-controller`);

  const rawModes = options.modes ?? ['shared'];
  if (!Array.isArray(rawModes) || rawModes.length === 0) {
    fail('modes', rawModes, `one or more of ${NAMESPACE_MODES.join(', ')}`);
  }
  const modes: NamespaceMode[] = [];
  for (const raw of rawModes) {
    const mode = namespaceModeOf(raw);
    if (mode === undefined) {
      return fail('modes', raw, `one of ${NAMESPACE_MODES.join(', ')} (aliases: ${Object.keys(NAMESPACE_MODE_ALIASES).join(', ')})`);
    }
    if (!modes.includes(mode)) modes.push(mode);
  }
  modes.sort((a, b) => NAMESPACE_MODES.indexOf(a) - NAMESPACE_MODES.indexOf(b));

  const list = <T>(option: keyof RbacOptions, value: readonly T[] | undefined, expected: string): readonly T[] => {
    if (value !== undefined && !Array.isArray(value)) fail(option, value, `a list of ${expected}`);
    return value ?? [];
  };

  const byoNamespaces: string[] = [];
  for (const ns of list('byoNamespaces', options.byoNamespaces, 'namespace names')) {
    const name = label('byoNamespaces', ns);
    if (!byoNamespaces.includes(name)) byoNamespaces.push(name);
  }
  if (byoNamespaces.length > 0 && !modes.includes('byo')) {
    fail('byoNamespaces', byoNamespaces, 'no namespaces unless mode "byo" is enabled');
  }
  if (byoNamespaces.length > 0 && modes.includes('auto')) {
    fail('byoNamespaces', byoNamespaces, 'no namespaces with mode "auto" (automatic namespaces need cluster-wide pod rights, which cover every namespace)');
  }

  if (options.kernelClusterRole !== undefined && options.kernelClusterRole === '') {
    fail('kernelClusterRole', '', 'the name of the kernel ClusterRole (GP_KERNEL_CLUSTER_ROLE), e.g. "kernel-controller"');
  }
  const kernelClusterRole = roleName('kernelClusterRole', options.kernelClusterRole ?? DEFAULT_KERNEL_CLUSTER_ROLE);
  if (kernelClusterRole === applicationRoleName) {
    fail('kernelClusterRole', kernelClusterRole, `a name different from the application's role "${applicationRoleName}"`);
  }

  let kernelServiceAccount: string | undefined;
  if (options.kernelServiceAccount !== undefined) {
    kernelServiceAccount = subdomain('kernelServiceAccount', options.kernelServiceAccount);
    if (!modes.includes('shared') && byoNamespaces.length === 0) {
      fail('kernelServiceAccount', kernelServiceAccount, 'no kernel service account unless mode "shared" is enabled or byoNamespaces are listed (in "auto" mode the launcher creates it)');
    }
    if (kernelServiceAccount === 'default') {
      fail('kernelServiceAccount', kernelServiceAccount, 'a dedicated service account, not "default" (binding the kernel role to "default" grants it to every pod that names no service account); point GP_DEFAULT_KERNEL_SERVICE_ACCOUNT_NAME at it');
    }
    if (kernelServiceAccount === serviceAccountName && modes.includes('shared')) {
      fail('kernelServiceAccount', kernelServiceAccount, `a service account other than the application's own ("${serviceAccountName}")`);
    }
  }

  const templateResources: TemplateResource[] = [];
  for (const resource of list('templateResources', options.templateResources, TEMPLATE_RESOURCES.join(', '))) {
    if (!(TEMPLATE_RESOURCES as readonly unknown[]).includes(resource)) {
      fail('templateResources', resource, `one of ${TEMPLATE_RESOURCES.join(', ')}`);
    }
    if (!templateResources.includes(resource)) templateResources.push(resource);
  }
  templateResources.sort((a, b) => TEMPLATE_RESOURCES.indexOf(a) - TEMPLATE_RESOURCES.indexOf(b));

  const sparkOperator = options.sparkOperator ?? false;
  if (typeof sparkOperator !== 'boolean') fail('sparkOperator', sparkOperator, 'true or false');

  const clusterScoped = modes.includes('auto') || (modes.includes('byo') && byoNamespaces.length === 0);
  const extraRules = list('extraRules', options.extraRules, 'rules').map((rule) => validateRule(rule, fail, clusterScoped));

  const kernelStore = options.kernelStore ?? 'file';
  if (kernelStore !== 'file' && kernelStore !== 'kubernetes') fail('kernelStore', kernelStore, 'file or kubernetes');

  return {
    kernelStore,
    appName,
    namespace,
    serviceAccountName,
    applicationRoleName,
    modes,
    byoNamespaces,
    sparkOperator,
    kernelClusterRole,
    kernelServiceAccount,
    templateResources,
    extraRules,
  };
}

function validateRule(
  rule: PolicyRule,
  fail: (option: keyof RbacOptions, value: unknown, expected: string) => never,
  clusterScoped: boolean,
): PolicyRule {
  const strings = (value: unknown): value is string[] =>
    Array.isArray(value) && value.every((v) => typeof v === 'string');
  const expected =
    'rules {apiGroups, resources, verbs[, resourceNames]} or {nonResourceURLs, verbs} with non-empty lists of strings and no "*" wildcard';
  if (typeof rule !== 'object' || rule === null || !strings(rule.verbs) || rule.verbs.length === 0) {
    return fail('extraRules', rule, expected);
  }
  const lists = [rule.verbs, rule.apiGroups, rule.resources, rule.resourceNames, rule.nonResourceURLs];
  if (lists.some((l) => l !== undefined && (!strings(l) || l.some((v) => v.includes('*'))))) {
    return fail('extraRules', rule, expected);
  }
  if (rule.nonResourceURLs !== undefined) {
    if (rule.resources !== undefined || rule.apiGroups !== undefined || rule.nonResourceURLs.length === 0) {
      return fail('extraRules', rule, expected);
    }
    if (!clusterScoped) {
      return fail('extraRules', rule, 'nonResourceURLs only when the application has a cluster-wide role (modes "auto", or "byo" without byoNamespaces)');
    }
  } else if (!strings(rule.apiGroups) || !strings(rule.resources) || rule.resources.length === 0) {
    return fail('extraRules', rule, expected);
  }
  return {
    ...(rule.apiGroups ? { apiGroups: [...rule.apiGroups] } : {}),
    ...(rule.resources ? { resources: [...rule.resources] } : {}),
    ...(rule.resourceNames ? { resourceNames: [...rule.resourceNames] } : {}),
    ...(rule.nonResourceURLs ? { nonResourceURLs: [...rule.nonResourceURLs] } : {}),
    verbs: [...rule.verbs],
  };
}
