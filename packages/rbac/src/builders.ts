import { KERNEL_COMPONENT, kernelRoleBinding } from '@gp/core';
import { resolveOptions, type RbacOptions, type ResolvedRbacOptions } from './options.js';
import { APPLICATION_RULES, KERNEL_RULES, STATE_RULES, type RuleEntry, type RulesTable } from './rules.js';
import type {
  ClusterRole,
  ClusterRoleBinding,
  PolicyRule,
  RbacObject,
  Role,
  RoleBinding,
  RoleRef,
  ServiceAccount,
  Subject,
} from './types.js';

/** Rules tables to build from; defaults to `APPLICATION_RULES` / `KERNEL_RULES` (override in minimality tests). */
export interface RuleTables {
  application?: RulesTable;
  kernel?: RulesTable;
  /** The replicated gateway's state rules (`kernelStore: 'kubernetes'`); default `STATE_RULES`. */
  state?: RulesTable;
}

const RBAC_V1 = 'rbac.authorization.k8s.io/v1' as const;
const RBAC_GROUP = 'rbac.authorization.k8s.io' as const;

function appLabels(o: ResolvedRbacOptions): Record<string, string> {
  return { app: o.appName, component: o.appName };
}

function kernelLabels(o: ResolvedRbacOptions): Record<string, string> {
  return { app: o.appName, component: KERNEL_COMPONENT };
}

/** True when the application needs cluster-wide rights: automatic namespaces, or BYO without a namespace list. */
function needsClusterScope(o: ResolvedRbacOptions): boolean {
  return o.modes.includes('auto') || (o.modes.includes('byo') && o.byoNamespaces.length === 0);
}

/** True when a namespaced Role in the application's namespace is all it needs (shared mode only). */
function sharedOnly(o: ResolvedRbacOptions): boolean {
  return o.modes.length === 1 && o.modes[0] === 'shared';
}

function ruleApplies(entry: RuleEntry, o: ResolvedRbacOptions): boolean {
  const when = entry.when;
  if (!when) return true;
  if (when.modes && !when.modes.some((m) => o.modes.includes(m))) return false;
  if (when.sparkOperator && !o.sparkOperator) return false;
  if (when.templateResource && !o.templateResources.includes(when.templateResource)) return false;
  return true;
}

function policyRule(entry: RuleEntry, o: ResolvedRbacOptions): PolicyRule {
  return {
    apiGroups: [entry.apiGroup],
    resources: [entry.resource],
    ...(entry.resourceNames === 'kernelClusterRole' ? { resourceNames: [o.kernelClusterRole] } : {}),
    verbs: Object.keys(entry.verbs),
  };
}

/** The table entries that ship for these options, in table order. */
export function applicableRules(table: RulesTable, options: RbacOptions): RuleEntry[] {
  const o = resolveOptions(options);
  return table.filter((entry) => ruleApplies(entry, o) && Object.keys(entry.verbs).length > 0);
}

/** One verb of one rule that ships, with the step that needs it: a case of the minimality proof. */
export interface GrantedVerb {
  id: string;
  apiGroup: string;
  resource: string;
  verb: string;
  step: string;
}

/**
 * Every (rule, verb) pair that ships for these options, in table order. A minimality test iterates over it,
 * builds the manifests with `withoutVerb(table, id, verb)`, and shows that `step` then fails with 403.
 */
export function grantedVerbs(table: RulesTable, options: RbacOptions = {}): GrantedVerb[] {
  return applicableRules(table, options).flatMap((entry) =>
    Object.entries(entry.verbs).map(([verb, step]) => ({ id: entry.id, apiGroup: entry.apiGroup, resource: entry.resource, verb, step })),
  );
}

/**
 * The application's Role (shared mode only: everything fits in its own namespace) or ClusterRole (any other
 * mode). A ClusterRole is bound cluster-wide for `auto` and for `byo` without `byoNamespaces`, and by
 * RoleBindings in the listed namespaces otherwise.
 */
export function applicationRole(options: RbacOptions = {}, tables: RuleTables = {}): Role | ClusterRole {
  const o = resolveOptions(options);
  const rules = [
    ...applicableRules(tables.application ?? APPLICATION_RULES, o).map((e) => policyRule(e, o)),
    ...o.extraRules.map((r) => structuredClone(r)),
  ];
  if (sharedOnly(o)) {
    return {
      apiVersion: RBAC_V1,
      kind: 'Role',
      metadata: { name: o.applicationRoleName, namespace: o.namespace, labels: appLabels(o) },
      rules,
    };
  }
  return { apiVersion: RBAC_V1, kind: 'ClusterRole', metadata: { name: o.applicationRoleName, labels: appLabels(o) }, rules };
}

/**
 * The kernel's ClusterRole (`GP_KERNEL_CLUSTER_ROLE`): what a kernel may do in its own namespace. Only ever
 * bound by RoleBindings (by the launcher in automatic namespaces, or by `kernelBindings`).
 */
export function kernelClusterRole(options: RbacOptions = {}, tables: RuleTables = {}): ClusterRole {
  const o = resolveOptions(options);
  return {
    apiVersion: RBAC_V1,
    kind: 'ClusterRole',
    metadata: { name: o.kernelClusterRole, labels: kernelLabels(o) },
    rules: applicableRules(tables.kernel ?? KERNEL_RULES, o).map((e) => policyRule(e, o)),
  };
}

/** The application's ServiceAccount, in its namespace. */
export function applicationServiceAccount(options: RbacOptions = {}): ServiceAccount {
  const o = resolveOptions(options);
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: o.serviceAccountName, namespace: o.namespace, labels: appLabels(o) },
  };
}

function appSubject(o: ResolvedRbacOptions): Subject {
  return { kind: 'ServiceAccount', name: o.serviceAccountName, namespace: o.namespace };
}

/**
 * Bindings of the application's role to its ServiceAccount: a RoleBinding in its namespace (shared only), a
 * ClusterRoleBinding (`auto`, or `byo` without a list), or RoleBindings in the application's namespace (if
 * `shared`) and each of `byoNamespaces`.
 */
export function applicationBindings(options: RbacOptions = {}): (RoleBinding | ClusterRoleBinding)[] {
  const o = resolveOptions(options);
  const name = o.applicationRoleName;
  if (sharedOnly(o)) {
    return [roleBinding(name, o.namespace, appLabels(o), [appSubject(o)], { apiGroup: RBAC_GROUP, kind: 'Role', name })];
  }
  const roleRef: RoleRef = { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name };
  if (needsClusterScope(o)) {
    return [{ apiVersion: RBAC_V1, kind: 'ClusterRoleBinding', metadata: { name, labels: appLabels(o) }, subjects: [appSubject(o)], roleRef }];
  }
  return appNamespaces(o).map((ns) => roleBinding(name, ns, appLabels(o), [appSubject(o)], { ...roleRef }));
}

/** Namespaces where the application's rights are bound by RoleBindings (non-cluster-scoped, non-shared-only). */
function appNamespaces(o: ResolvedRbacOptions): string[] {
  const namespaces = o.modes.includes('shared') ? [o.namespace] : [];
  for (const ns of o.byoNamespaces) if (!namespaces.includes(ns)) namespaces.push(ns);
  return namespaces;
}

/** Namespaces where a kernel ServiceAccount is created and bound (only with `kernelServiceAccount`). */
function kernelNamespaces(o: ResolvedRbacOptions): string[] {
  return o.kernelServiceAccount === undefined ? [] : appNamespaces(o);
}

/** The kernel ServiceAccounts (`kernelServiceAccount`) in the shared and listed bring-your-own namespaces. */
export function kernelServiceAccounts(options: RbacOptions = {}): ServiceAccount[] {
  const o = resolveOptions(options);
  return kernelNamespaces(o).map((namespace) => ({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: o.kernelServiceAccount as string, namespace, labels: kernelLabels(o) },
  }));
}

/** RoleBindings of the kernel ClusterRole to `kernelServiceAccount` in those namespaces (never cluster-wide). */
export function kernelBindings(options: RbacOptions = {}): RoleBinding[] {
  const o = resolveOptions(options);
  return kernelNamespaces(o).map((namespace) =>
    kernelRoleBinding({
      name: `${o.appName}-kernel`,
      namespace,
      labels: kernelLabels(o),
      clusterRole: o.kernelClusterRole,
      serviceAccount: o.kernelServiceAccount as string,
    }),
  );
}

function roleBinding(
  name: string,
  namespace: string,
  labels: Record<string, string>,
  subjects: Subject[],
  roleRef: RoleRef,
): RoleBinding {
  return { apiVersion: RBAC_V1, kind: 'RoleBinding', metadata: { name, namespace, labels: { ...labels } }, subjects, roleRef };
}

/** `<appName>-state`: the state Role (kernel-record Secrets, replica Leases) in the application's namespace. */
export function stateRole(options: RbacOptions = {}, tables: RuleTables = {}): Role {
  const o = resolveOptions(options);
  return {
    apiVersion: RBAC_V1,
    kind: 'Role',
    metadata: { name: `${o.appName}-state`, namespace: o.namespace, labels: appLabels(o) },
    rules: applicableRules(tables.state ?? STATE_RULES, o).map((e) => policyRule(e, o)),
  };
}

/** The state Role bound to the application's ServiceAccount, in its namespace only. */
export function stateBinding(options: RbacOptions = {}): RoleBinding {
  const o = resolveOptions(options);
  const name = `${o.appName}-state`;
  return roleBinding(name, o.namespace, appLabels(o), [appSubject(o)], { apiGroup: RBAC_GROUP, kind: 'Role', name });
}

/**
 * Every object for these options, in apply order: ServiceAccounts, ClusterRoles/Roles, then bindings.
 * The kernel ClusterRole ships with `auto` (the launcher binds it in each new namespace) or with
 * `kernelServiceAccount` (bound here); otherwise nothing would bind it, so it is left out.
 */
export function rbacManifests(options: RbacOptions = {}, tables: RuleTables = {}): RbacObject[] {
  const o = resolveOptions(options);
  const withKernelRole = o.modes.includes('auto') || o.kernelServiceAccount !== undefined;
  return [
    applicationServiceAccount(o),
    ...kernelServiceAccounts(o),
    ...(withKernelRole ? [kernelClusterRole(o, tables)] : []),
    applicationRole(o, tables),
    ...(o.kernelStore === 'kubernetes' ? [stateRole(o, tables)] : []),
    ...applicationBindings(o),
    ...(o.kernelStore === 'kubernetes' ? [stateBinding(o)] : []),
    ...kernelBindings(o),
  ];
}
