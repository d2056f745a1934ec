/**
 * The rules tables: every permission gp's RBAC grants, each verb annotated with the life-cycle step that
 * needs it. This is the single source the builders read, and the handle for minimality tests: remove one
 * entry (`withoutRule`) or one verb (`withoutVerb`), pass the table to the builders, and show that some step
 * of a kernel life cycle then fails with 403.
 *
 * The steps are those of the provisioner life cycle (@gp/launcher):
 *   launch → ready → interrupt → terminate → cleanup, plus re-attach (loadProvisionerInfo after a host restart)
 *   and restart (a relaunch that keeps the automatic namespace).
 * Interrupts travel over the kernel's comm port, not the Kubernetes API, so no rule is needed for them; cleanup
 * only releases watches and deletes what terminate would (same verbs).
 * Each annotation starts with the step's name; @gp/launcher's rbac-proof.k8s.test.ts checks that this step fails with 403 without it.
 */

import { NAMESPACE_MODES, type NamespaceMode } from '@gp/core';

/** How kernels find their namespace: the kernel contract's modes (`@gp/core`), re-exported. */
export { NAMESPACE_MODES, type NamespaceMode };

/** Extra resources a pod template may declare next to the Pod (created with an ownerReference to the pod). */
export type TemplateResource = 'secrets' | 'persistentvolumeclaims' | 'services' | 'configmaps';

export const TEMPLATE_RESOURCES: readonly TemplateResource[] = [
  'secrets',
  'persistentvolumeclaims',
  'services',
  'configmaps',
];

export interface RuleEntry {
  /** Stable identifier, unique within its table (used by `withoutRule` / `withoutVerb`). */
  readonly id: string;
  readonly apiGroup: string;
  readonly resource: string;
  /**
   * `namespaced`: needed in every namespace kernels are placed in (a Role in the application's namespace for
   * shared-only deployments, RoleBindings per listed bring-your-own namespace, or cluster-wide otherwise).
   * `cluster`: a cluster-scoped resource or grant; only a ClusterRole bound by a ClusterRoleBinding holds it.
   */
  readonly scope: 'namespaced' | 'cluster';
  /** Each verb, mapped to the step that needs it. The keys are the verbs emitted, in this order. */
  readonly verbs: Readonly<Record<string, string>>;
  /** `kernelClusterRole`: the rule is restricted to the kernel ClusterRole's name (`resourceNames`). */
  readonly resourceNames?: 'kernelClusterRole';
  /** When the rule ships; every condition given must hold. No condition: always. */
  readonly when?: {
    /** Ships if any of these modes is enabled. */
    readonly modes?: readonly NamespaceMode[];
    /** Ships only with Spark Operator support. */
    readonly sparkOperator?: true;
    /** Ships only when this template resource is enabled. */
    readonly templateResource?: TemplateResource;
  };
}

export type RulesTable = readonly RuleEntry[];

/**
 * Template-declared companions need only `create` (launch; also the launcher's dry-run create before the pod).
 * They carry an ownerReference to the kernel pod (without blockOwnerDeletion), so the garbage collector
 * deletes them with the pod: no `delete`. The launcher never reads them back: no `get`.
 */
const templateResourceRule = (resource: TemplateResource, what: string): RuleEntry => ({
  id: resource,
  apiGroup: '',
  resource,
  scope: 'namespaced',
  verbs: {
    create: `launch: create the template-declared ${what} (dry run first, then for real, owned by the kernel pod)`,
  },
  when: { templateResource: resource },
});

/**
 * The host application's permissions. Everything the launcher and provisioners call, and nothing else:
 * no wildcard, no update/patch, no secrets unless a template declares them, no `cluster-admin`.
 */
export const APPLICATION_RULES: RulesTable = [
  {
    id: 'pods',
    apiGroup: '',
    resource: 'pods',
    scope: 'namespaced',
    verbs: {
      get: 're-attach: read the kernel pod once by name (loadProvisionerInfo after a host restart: alive or dead?)',
      list: 'ready: initial LIST of the shared per-namespace pod watch (label selector component=kernel)',
      watch: 'ready: the shared per-namespace pod WATCH (phase Running, pod IP, failure states)',
      create: 'launch: create the kernel pod (or, with the Spark Operator, nothing: the operator creates the driver)',
      delete: 'terminate: delete the kernel pod (grace period 0, background propagation)',
    },
  },
  {
    id: 'events',
    apiGroup: '',
    resource: 'events',
    scope: 'namespaced',
    verbs: {
      list: 'ready: list the kernel pod\'s events (progress and failure reasons such as ErrImagePull, FailedScheduling)',
      watch: 'ready: watch those events while waiting for the pod to become ready',
    },
  },
  templateResourceRule('secrets', 'Secret'),
  templateResourceRule('persistentvolumeclaims', 'PersistentVolumeClaim'),
  templateResourceRule('services', 'Service'),
  templateResourceRule('configmaps', 'ConfigMap'),
  {
    id: 'sparkapplications',
    apiGroup: 'sparkoperator.k8s.io',
    resource: 'sparkapplications',
    scope: 'namespaced',
    verbs: {
      get: 're-attach: read the SparkApplication once by name (loadProvisionerInfo: alive or finished?)',
      list: 'ready: initial LIST of the shared per-namespace SparkApplication watch',
      watch: 'ready: the shared per-namespace SparkApplication WATCH',
      create: 'launch: submit the kernel SparkApplication',
      delete: 'terminate: delete the kernel SparkApplication (the operator removes the driver)',
    },
    when: { sparkOperator: true },
  },
  {
    id: 'namespaces',
    apiGroup: '',
    resource: 'namespaces',
    scope: 'cluster',
    verbs: {
      get: 'restart: read the kept kernel namespace when its create answers 409, to check it is this kernel\'s own',
      create: 'launch: create the kernel\'s own namespace',
      delete: 'terminate: delete the kernel namespace, also when a launch fails after creating it (cascades to its pod, SA and RoleBinding)',
    },
    when: { modes: ['auto'] },
  },
  {
    id: 'serviceaccounts',
    apiGroup: '',
    resource: 'serviceaccounts',
    scope: 'namespaced',
    verbs: {
      create: 'launch: create the kernel service account in the new namespace (the reference forgets it)',
    },
    when: { modes: ['auto'] },
  },
  {
    id: 'rolebindings',
    apiGroup: 'rbac.authorization.k8s.io',
    resource: 'rolebindings',
    scope: 'namespaced',
    verbs: {
      create: 'launch: bind the kernel ClusterRole to the kernel service account in the new namespace',
    },
    when: { modes: ['auto'] },
  },
  {
    id: 'bind-kernel-role',
    apiGroup: 'rbac.authorization.k8s.io',
    resource: 'clusterroles',
    scope: 'cluster',
    resourceNames: 'kernelClusterRole',
    verbs: {
      bind:
        'launch: RBAC escalation prevention admits the kernel RoleBinding only if its creator may `bind` the ' +
        'referenced ClusterRole (restricted to the kernel role by resourceNames)',
    },
    when: { modes: ['auto'] },
  },
];

/**
 * The kernel's permissions inside its own namespace (spec "Kernel Cluster Role"). A ClusterRole only so
 * that one definition serves every namespace; it is only ever bound by RoleBindings, never cluster-wide.
 */
export const KERNEL_RULES: RulesTable = [
  {
    id: 'pods',
    apiGroup: '',
    resource: 'pods',
    scope: 'namespaced',
    verbs: {
      get: 'kernel: read pods in its namespace (e.g. a spark-submit driver reading its executors)',
      list: 'kernel: list pods in its namespace',
      watch: 'kernel: watch pods in its namespace',
      create: 'kernel: create pods in its namespace (spark-submit executors)',
      delete: 'kernel: delete pods in its namespace (executors on shutdown)',
    },
  },
  {
    id: 'configmaps',
    apiGroup: '',
    resource: 'configmaps',
    scope: 'namespaced',
    verbs: {
      list: 'kernel: list config maps in its namespace',
      create: 'kernel: create config maps in its namespace (spark-submit driver configuration)',
    },
  },
  {
    id: 'services',
    apiGroup: '',
    resource: 'services',
    scope: 'namespaced',
    verbs: { list: 'kernel: list services in its namespace' },
  },
  {
    id: 'persistentvolumeclaims',
    apiGroup: '',
    resource: 'persistentvolumeclaims',
    scope: 'namespaced',
    verbs: { list: 'kernel: list persistent volume claims in its namespace' },
  },
];

/**
 * The replicated gateway's state (`gp-gateway --kernel-store kubernetes`): kernel records as Secrets and the
 * replicas' Leases, only ever in the application's own namespace (a Role there, whatever the namespace modes: no
 * cluster-wide secrets). Steps: the gateway's store and replica life cycle (apps/gateway/src/kube-store.ts,
 * replica/leases.ts); apps/gateway/src/kube-store-rbac.k8s.test.ts shows each verb is needed.
 */
export const STATE_RULES: RulesTable = [
  {
    id: 'kernel-records',
    apiGroup: '',
    resource: 'secrets',
    scope: 'namespaced',
    verbs: {
      get: 'adopt: read the record of a kernel another replica started a moment ago (not in the watch cache yet), and re-read it fresh before removing a dead kernel',
      list: 'discover: initial LIST of the shared record watch (label gp.jupyter.org/kernel-record)',
      watch: 'discover: the shared record WATCH (kernels started, restarted, shut down by other replicas)',
      create: 'launch: record the launch intent before the first kernel object exists',
      update: 'record: the running kernel (connection info, owner reference to its pod), a restart in progress and its end',
      delete: 'shutdown: remove the record with the kernel',
    },
  },
  {
    id: 'replica-leases',
    apiGroup: 'coordination.k8s.io',
    resource: 'leases',
    scope: 'namespaced',
    verbs: {
      get: 'elect: read the leader lease, and a replica\'s lease to know whether its recorded launch is abandoned',
      list: 'elect: the leader lists replica leases to delete those of dead replicas',
      create: 'elect: create this replica\'s lease and, if none exists, the leader lease',
      update: 'elect: renew this replica\'s lease and take or renew the leader lease',
      delete: 'elect: a replica deletes its own lease on exit; the leader deletes dead replicas\' leases',
    },
  },
];

/** A copy of `table` without the entry `id` (throws if there is none, so a typo cannot pass a test). */
export function withoutRule(table: RulesTable, id: string): RuleEntry[] {
  if (!table.some((entry) => entry.id === id)) throw new Error(`No rule ${JSON.stringify(id)} in the table`);
  return table.filter((entry) => entry.id !== id);
}

/**
 * A copy of `table` where entry `id` lacks `verb` (the entry disappears when it had only that verb).
 * Throws if the entry or verb does not exist.
 */
export function withoutVerb(table: RulesTable, id: string, verb: string): RuleEntry[] {
  const entry = table.find((e) => e.id === id);
  if (!entry || !(verb in entry.verbs)) {
    throw new Error(`No verb ${JSON.stringify(verb)} in rule ${JSON.stringify(id)}`);
  }
  const verbs = Object.fromEntries(Object.entries(entry.verbs).filter(([v]) => v !== verb));
  return table.flatMap((e) => (e !== entry ? [e] : Object.keys(verbs).length > 0 ? [{ ...e, verbs }] : []));
}
