// @gp/rbac: least-privilege RBAC manifests for gp host applications and their kernels, as pure functions.
// Named exports from separate modules, no side effects at import: importing one builder does not pull in
// the YAML serializer.
export type {
  ClusterRole,
  ClusterRoleBinding,
  ObjectMeta,
  PolicyRule,
  RbacObject,
  Role,
  RoleBinding,
  RoleRef,
  ServiceAccount,
  Subject,
} from './types.js';
export {
  APPLICATION_RULES,
  KERNEL_RULES,
  NAMESPACE_MODES,
  STATE_RULES,
  TEMPLATE_RESOURCES,
  withoutRule,
  withoutVerb,
  type NamespaceMode,
  type RuleEntry,
  type RulesTable,
  type TemplateResource,
} from './rules.js';
export {
  DEFAULT_APP_NAME,
  DEFAULT_KERNEL_CLUSTER_ROLE,
  isDns1123Label,
  isDns1123Subdomain,
  resolveOptions,
  type RbacOptions,
  type ResolvedRbacOptions,
} from './options.js';
export {
  applicableRules,
  applicationBindings,
  applicationRole,
  applicationServiceAccount,
  grantedVerbs,
  kernelBindings,
  kernelClusterRole,
  kernelServiceAccounts,
  rbacManifests,
  stateBinding,
  stateRole,
  type GrantedVerb,
  type RuleTables,
} from './builders.js';
export { toJson, toYaml } from './serialize.js';
